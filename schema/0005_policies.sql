-- The policy lifecycle: every version of every policy, change requests and
-- their rounds, exceptions, and the annual review. The rules an auditor relies
-- on are enforced here, not only in the workflows: a material version cannot
-- be published before the version it replaces is archived, version numbers
-- only go forward, and no version is deleted within seven years of it last
-- being in effect.

-- The current version of each policy, kept by the policy_versions triggers.
-- A policy is 'unversioned' only until its registration is recorded as its
-- first version (policies_register_version, below).
ALTER TABLE policies
    ADD COLUMN version        text,
    ADD COLUMN revision       integer NOT NULL DEFAULT 0,
    ADD COLUMN status         text NOT NULL DEFAULT 'unversioned'
        CHECK (status IN ('unversioned', 'published', 'deprecated')),
    ADD COLUMN content_sha256 text NOT NULL DEFAULT '',
    ADD COLUMN published_at   timestamptz;

CREATE TABLE policy_versions (
    policy_id         text NOT NULL REFERENCES policies (id),
    year              integer NOT NULL CHECK (year BETWEEN 1000 AND 9999),
    seq               integer NOT NULL CHECK (seq >= 1),
    revision          integer NOT NULL DEFAULT 0 CHECK (revision >= 0),
    version           text GENERATED ALWAYS AS (
        year::text || '.' || seq::text || CASE WHEN revision > 0 THEN ' rev.' || revision::text ELSE '' END) STORED,
    kind              text NOT NULL CHECK (kind IN ('material', 'minor')),
    summary           text NOT NULL DEFAULT '',
    body              text NOT NULL DEFAULT '',
    reference         text NOT NULL DEFAULT '',
    content_sha256    text NOT NULL,
    change_request_id text NOT NULL DEFAULT '',
    published_by      text NOT NULL,
    published_at      timestamptz NOT NULL,
    -- Saved to the archive under its own number, before a material successor
    -- was published. A version replaced by a revision is superseded only.
    archived_at       timestamptz,
    -- No longer in effect: the start of its seven years of retention.
    superseded_at     timestamptz,
    PRIMARY KEY (policy_id, year, seq, revision),
    CHECK (archived_at IS NULL OR archived_at >= published_at),
    CHECK (superseded_at IS NULL OR superseded_at >= published_at)
);
CREATE UNIQUE INDEX policy_versions_in_effect ON policy_versions (policy_id) WHERE superseded_at IS NULL;

-- A new version must follow the one in effect: a material one only once that
-- one is archived (strictly earlier than the new publish time) and with a
-- higher YYYY.N, a minor one as the next revision of it. Numbers already used
-- by the policy are never issued again.
CREATE FUNCTION policy_versions_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cur     policy_versions;
    has_cur boolean;
BEGIN
    -- Serialise publishes of one policy.
    PERFORM 1 FROM policies WHERE id = NEW.policy_id FOR UPDATE;
    SELECT * INTO cur FROM policy_versions WHERE policy_id = NEW.policy_id AND superseded_at IS NULL;
    has_cur := FOUND;
    IF EXISTS (SELECT 1 FROM policy_versions WHERE policy_id = NEW.policy_id
               AND (year, seq, revision) >= (NEW.year, NEW.seq, NEW.revision)) THEN
        RAISE EXCEPTION 'policy %: version % is not after every version already issued', NEW.policy_id, NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT has_cur THEN
        IF NEW.kind <> 'material' OR NEW.revision <> 0 THEN
            RAISE EXCEPTION 'policy %: the first version must be a material YYYY.N, not %', NEW.policy_id, NEW.version
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.kind = 'material' THEN
        IF cur.archived_at IS NULL OR cur.archived_at >= NEW.published_at THEN
            RAISE EXCEPTION 'policy %: version % must be archived before % is published', NEW.policy_id, cur.version, NEW.version
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.revision <> 0 THEN
            RAISE EXCEPTION 'policy %: a material change starts a version without a revision, not %', NEW.policy_id, NEW.version
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF (NEW.year, NEW.seq, NEW.revision) <> (cur.year, cur.seq, cur.revision + 1) THEN
        RAISE EXCEPTION 'policy %: a minor change of % is its next revision, not %', NEW.policy_id, cur.version, NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE policy_versions SET superseded_at = NEW.published_at
        WHERE policy_id = NEW.policy_id AND superseded_at IS NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER policy_versions_before_insert BEFORE INSERT ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_before_insert();

CREATE FUNCTION policy_versions_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Deprecation is the program file's to give and take back (program
    -- apply): a version published to a deprecated policy stays on record and
    -- the policy stays deprecated.
    UPDATE policies SET version = NEW.year::text || '.' || NEW.seq::text, revision = NEW.revision,
        status = CASE WHEN status = 'deprecated' THEN 'deprecated' ELSE 'published' END,
        content_sha256 = NEW.content_sha256, published_at = NEW.published_at, updated_at = now()
        WHERE id = NEW.policy_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER policy_versions_after_insert AFTER INSERT ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_after_insert();

-- A published version is a record: only its archive and supersede times may
-- be set, once each, and only the version in effect may be archived.
CREATE FUNCTION policy_versions_before_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.policy_id, NEW.year, NEW.seq, NEW.revision, NEW.kind, NEW.summary, NEW.body, NEW.reference,
        NEW.content_sha256, NEW.change_request_id, NEW.published_by, NEW.published_at)
       IS DISTINCT FROM
       (OLD.policy_id, OLD.year, OLD.seq, OLD.revision, OLD.kind, OLD.summary, OLD.body, OLD.reference,
        OLD.content_sha256, OLD.change_request_id, OLD.published_by, OLD.published_at)
       OR (OLD.archived_at IS NOT NULL AND NEW.archived_at IS DISTINCT FROM OLD.archived_at)
       OR (OLD.superseded_at IS NOT NULL AND NEW.superseded_at IS DISTINCT FROM OLD.superseded_at)
       OR (OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL AND OLD.superseded_at IS NOT NULL) THEN
        RAISE EXCEPTION 'policy %: version % is a record and cannot be changed', OLD.policy_id, OLD.version
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER policy_versions_before_update BEFORE UPDATE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_before_update();

-- Retention (policy-management §5): seven years from when the version was
-- created or last in effect, whichever is later. This binds the owner too;
-- the application has no DELETE grant at all.
CREATE FUNCTION policy_versions_before_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.superseded_at IS NULL OR OLD.superseded_at + interval '7 years' > now() THEN
        RAISE EXCEPTION 'policy %: version % is retained until %', OLD.policy_id, OLD.version,
            coalesce((OLD.superseded_at + interval '7 years')::text, '7 years after it is superseded')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER policy_versions_before_delete BEFORE DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_before_delete();

-- One row per PolicyChangeRequest workflow (id is its workflow ID).
CREATE TABLE change_requests (
    id                      text PRIMARY KEY,
    policy_id               text NOT NULL REFERENCES policies (id),
    kind                    text NOT NULL CHECK (kind IN ('material', 'minor')),
    summary                 text NOT NULL CHECK (btrim(summary) <> ''),
    requester_id            text NOT NULL REFERENCES people (id),
    needs_production_change boolean NOT NULL DEFAULT false,
    production_change_ref   text NOT NULL DEFAULT '',
    review_id               text NOT NULL DEFAULT '', -- the annual review that asked for it
    status                  text NOT NULL DEFAULT 'in-review' CHECK (status IN (
        'in-review', 'returned', 'awaiting-second-approval', 'awaiting-engineering-approval', 'awaiting-production-change',
        'approved', 'announcing', 'published', 'withdrawn')),
    published_version       text NOT NULL DEFAULT '',
    -- The policy version the request is reviewed against: set when it is
    -- opened and again at each resubmission. Publishing refuses a request
    -- whose base is no longer the version in effect, so two requests on one
    -- policy cannot undo each other.
    base_version            text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    closed_at               timestamptz
);
CREATE INDEX change_requests_policy_idx ON change_requests (policy_id);

-- What the requester submitted in each round (round 1 is the request; each
-- resubmission after a rejection is the next).
CREATE TABLE change_request_rounds (
    request_id     text NOT NULL REFERENCES change_requests (id),
    round          integer NOT NULL CHECK (round >= 1),
    body           text NOT NULL DEFAULT '',
    content_sha256 text NOT NULL DEFAULT '',
    reference      text NOT NULL DEFAULT '',
    note           text NOT NULL DEFAULT '',
    submitted_by   text NOT NULL REFERENCES people (id),
    submitted_at   timestamptz NOT NULL,
    PRIMARY KEY (request_id, round)
);

-- Each decision taken in a round: the officer's review, the second approval
-- (CEO or designee), the Head of Engineering's approval, the requester's
-- resubmit-or-withdraw, the change-management reference.
CREATE TABLE change_request_decisions (
    request_id text NOT NULL REFERENCES change_requests (id),
    round      integer NOT NULL,
    step       text NOT NULL CHECK (step IN ('review', 'second-approval', 'engineering-approval', 'response', 'production-change')),
    task_id    text NOT NULL DEFAULT '',
    decided_by text NOT NULL REFERENCES people (id),
    action     text NOT NULL,
    note       text NOT NULL DEFAULT '',
    decided_at timestamptz NOT NULL,
    PRIMARY KEY (request_id, round, step),
    FOREIGN KEY (request_id, round) REFERENCES change_request_rounds (request_id, round)
);

-- A material change is owed a re-acknowledgement of the policy by everyone;
-- the acknowledgement campaign picks these up and sets campaign_ref.
CREATE TABLE policy_acknowledgements_owed (
    policy_id         text NOT NULL REFERENCES policies (id),
    version           text NOT NULL,
    change_request_id text NOT NULL,
    owed_since        timestamptz NOT NULL DEFAULT now(),
    campaign_ref      text NOT NULL DEFAULT '',
    PRIMARY KEY (policy_id, version)
);

-- One row per PolicyException workflow. A term is at most one year from its
-- approval; a renewal is a new approval round with a new term.
CREATE TABLE policy_exceptions (
    id               text PRIMARY KEY,
    policy_id        text NOT NULL REFERENCES policies (id),
    requester_id     text NOT NULL REFERENCES people (id),
    business_purpose text NOT NULL CHECK (btrim(business_purpose) <> ''),
    reason           text NOT NULL CHECK (btrim(reason) <> ''),
    -- The first term ends on the date asked for; a renewal runs as long. The
    -- one-year rule is the expires_at check: comparing intervals counts a
    -- year as 360 days.
    requested_expires_at timestamptz NOT NULL,
    term             interval NOT NULL CHECK (term > interval '0'),
    round            integer NOT NULL DEFAULT 1,
    status           text NOT NULL DEFAULT 'requested' CHECK (status IN (
        'requested', 'approved', 'rejected', 'expired', 'closed')),
    approved_at      timestamptz,
    expires_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at IS NULL OR (approved_at IS NOT NULL AND expires_at <= approved_at + interval '1 year'))
);

CREATE TABLE policy_exception_decisions (
    exception_id text NOT NULL REFERENCES policy_exceptions (id),
    round        integer NOT NULL,
    step         text NOT NULL CHECK (step IN ('security_officer', 'coo', 're-evaluation')),
    task_id      text NOT NULL DEFAULT '',
    decided_by   text NOT NULL REFERENCES people (id),
    action       text NOT NULL,
    note         text NOT NULL DEFAULT '',
    decided_at   timestamptz NOT NULL,
    PRIMARY KEY (exception_id, round, step)
);

-- One row per AnnualPolicyReview workflow.
CREATE TABLE policy_reviews (
    id             text PRIMARY KEY,
    obligation_id  text NOT NULL DEFAULT '',
    officer_id     text NOT NULL REFERENCES people (id),
    round          integer NOT NULL DEFAULT 1,
    status         text NOT NULL DEFAULT 'opened' CHECK (status IN ('opened', 'in-review', 'signed-off')),
    opened_at      timestamptz,
    signed_off_at  timestamptz,
    sign_off_note  text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Who reviewed which policy in which round, and what they asked to change.
CREATE TABLE policy_review_items (
    review_id         text NOT NULL REFERENCES policy_reviews (id),
    round             integer NOT NULL,
    reviewer_id       text NOT NULL REFERENCES people (id),
    policy_id         text NOT NULL REFERENCES policies (id),
    -- change-refused: a change asked for that could not be opened as a change
    -- request (nobody but the member could review or approve it, the member
    -- has left, the policy is deprecated); the note says why.
    outcome           text NOT NULL CHECK (outcome IN ('no-change', 'change-requested', 'change-refused')),
    note              text NOT NULL DEFAULT '',
    change_request_id text NOT NULL DEFAULT '',
    reviewed_at       timestamptz NOT NULL,
    -- A member's clarification may ask for another change to a policy they
    -- already asked to change in the round: a second row. clarify numbers the
    -- member's answers within the round (0: the review task itself).
    clarify           integer NOT NULL DEFAULT 0 CHECK (clarify >= 0),
    PRIMARY KEY (review_id, round, reviewer_id, clarify, policy_id)
);

-- The officer's rejection of a sign-off, which sends the review back for
-- another round: who rejected it, when, and why. One per round at most.
CREATE TABLE policy_review_rejections (
    review_id    text NOT NULL REFERENCES policy_reviews (id),
    round        integer NOT NULL,
    task_id      text NOT NULL DEFAULT '',
    rejected_by  text NOT NULL REFERENCES people (id),
    note         text NOT NULL DEFAULT '',
    rejected_at  timestamptz NOT NULL,
    PRIMARY KEY (review_id, round)
);

-- A policy registered from the program file is a document already in effect:
-- it is recorded as its first version at once, with the SHA-256 of the text it
-- was registered from (policies.content_sha256, set by the apply from the
-- policy's file), under the number the program gives it (policies.version,
-- YYYY.N, for a policy numbered before complyflow took it over) or else YYYY.1
-- of the year it was registered, so its first change archives it like any
-- other.
CREATE FUNCTION policies_register_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m text[] := regexp_match(coalesce(NEW.version, ''), '^(\d{4})\.(\d+)$');
BEGIN
    IF NEW.version IS NOT NULL AND m IS NULL THEN
        RAISE EXCEPTION 'policy %: a registered version is YYYY.N, not %', NEW.id, NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO policy_versions (policy_id, year, seq, kind, summary, reference, content_sha256, published_by, published_at)
    VALUES (NEW.id, coalesce(m[1]::int, extract(year FROM NEW.created_at AT TIME ZONE 'UTC')::int), coalesce(m[2]::int, 1),
            'material', 'registered from the program file', NEW.source, NEW.content_sha256, 'program', NEW.created_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER policies_register_version AFTER INSERT ON policies
    FOR EACH ROW EXECUTE FUNCTION policies_register_version();

GRANT SELECT, UPDATE ON policies TO complyflow_app;
GRANT SELECT, INSERT ON policy_versions TO complyflow_app;
GRANT UPDATE (archived_at, superseded_at) ON policy_versions TO complyflow_app;
GRANT SELECT, INSERT, UPDATE ON change_requests, change_request_rounds, change_request_decisions,
    policy_acknowledgements_owed, policy_exceptions, policy_exception_decisions,
    policy_reviews, policy_review_items TO complyflow_app;
GRANT SELECT, INSERT ON policy_review_rejections TO complyflow_app;

-- policies.version and its companions only ever mirror the version in effect
-- in policy_versions (the policy_versions triggers set them), so no update
-- can show a policy at a version that was never published there, or skip the
-- archive a material version needs.
CREATE FUNCTION policies_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.version, NEW.revision, NEW.published_at, NEW.content_sha256)
       IS NOT DISTINCT FROM (OLD.version, OLD.revision, OLD.published_at, OLD.content_sha256) THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM policy_versions v WHERE v.policy_id = NEW.id AND v.superseded_at IS NULL
                   AND v.year::text || '.' || v.seq::text = NEW.version AND v.revision = NEW.revision
                   AND v.published_at = NEW.published_at AND v.content_sha256 = NEW.content_sha256) THEN
        RAISE EXCEPTION 'policy %: its version is set only by publishing one in policy_versions', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER policies_version_guard BEFORE UPDATE ON policies
    FOR EACH ROW EXECUTE FUNCTION policies_version_guard();

-- A change request made in the portal waits here until the person it names
-- confirms it from the link emailed to them: that link is what shows the
-- request is theirs; only then is the PolicyChangeRequest started
-- (request_id) and recorded as theirs.
CREATE TABLE change_request_drafts (
    id                      text PRIMARY KEY,
    policy_id               text NOT NULL REFERENCES policies (id),
    kind                    text NOT NULL CHECK (kind IN ('material', 'minor')),
    summary                 text NOT NULL CHECK (summary <> ''),
    body                    text NOT NULL DEFAULT '',
    reference               text NOT NULL DEFAULT '',
    needs_production_change boolean NOT NULL DEFAULT false,
    requester_id            text NOT NULL REFERENCES people (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    request_id              text,
    confirmed_at            timestamptz,
    CHECK ((request_id IS NULL) = (confirmed_at IS NULL))
);

GRANT SELECT, INSERT ON change_request_drafts TO complyflow_app;
GRANT UPDATE (request_id, confirmed_at) ON change_request_drafts TO complyflow_app;
