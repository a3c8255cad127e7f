-- Vendor SOC 2 collection (controls list B, Vendor Due Diligence Review:
-- "Vendor SOC 2 reports (or equivalent) are collected and reviewed on at
-- least an annual basis"), and the typed forms of human tasks its review
-- uses.
--
-- 1. Task forms: a task may carry a form (its fields, as the workflow
--    defines them) and its outcome the values it was completed with.
-- 2. Evidence files: write-once by SHA-256, in Postgres, kept 7 years.
-- 3. Vendor review cycles, their decisions and the CUECs each accepted
--    report makes ours to operate.

-- 1. Task forms. The form is set when the task is created and never
-- changes; the values are set once, with the outcome.
ALTER TABLE tasks ADD COLUMN form jsonb;
ALTER TABLE tasks ADD COLUMN outcome_values jsonb;
GRANT UPDATE (outcome_values) ON tasks TO complyflow_app;

-- 0009's trigger, with form among the columns that never change and
-- outcome_values among those a cancellation may not set.
CREATE OR REPLACE FUNCTION tasks_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.status <> 'open' THEN
        RAISE EXCEPTION 'task %: it is % and cannot change', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.id, NEW.assignee_id, NEW.subject, NEW.body, NEW.actions, NEW.control_ids, NEW.parent_ref, NEW.due_at, NEW.created_at, NEW.form)
       IS DISTINCT FROM
       (OLD.id, OLD.assignee_id, OLD.subject, OLD.body, OLD.actions, OLD.control_ids, OLD.parent_ref, OLD.due_at, OLD.created_at, OLD.form) THEN
        RAISE EXCEPTION 'task %: only its status and outcome may change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    CASE NEW.status
    WHEN 'completed' THEN
        IF NEW.outcome_action = '' OR NEW.outcome_by IS NULL OR NEW.completed_at IS NULL THEN
            RAISE EXCEPTION 'task %: a completion names its action, who completed it and when', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    WHEN 'cancelled' THEN
        IF (NEW.outcome_action, NEW.outcome_by, NEW.outcome_note, NEW.completed_at, NEW.outcome_values)
           IS DISTINCT FROM (OLD.outcome_action, OLD.outcome_by, OLD.outcome_note, OLD.completed_at, OLD.outcome_values) THEN
            RAISE EXCEPTION 'task %: a cancelled task has no outcome', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF NEW IS DISTINCT FROM OLD THEN
            RAISE EXCEPTION 'task %: an open task changes only by being completed or cancelled', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    END CASE;
    RETURN NEW;
END
$$;

-- 2. Evidence files. One row per distinct content: the same file uploaded
-- twice is one file (INSERT ... ON CONFLICT DO NOTHING), and the database
-- checks that the key is the content's SHA-256 and the size its length.
CREATE TABLE evidence_files (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       bigint NOT NULL,
    media_type text NOT NULL,
    content    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (sha256 = encode(sha256(content), 'hex')),
    CHECK (size = octet_length(content))
);

-- Every upload of a file: what it was for, who sent it, under which name,
-- and when. Several uploads may name one file.
CREATE TABLE evidence_uploads (
    id          bigserial PRIMARY KEY,
    sha256      text NOT NULL REFERENCES evidence_files (sha256),
    subject     text NOT NULL,
    uploader    text NOT NULL,
    filename    text NOT NULL DEFAULT '',
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_uploads_subject_idx ON evidence_uploads (subject);

-- Write-once: the application may add files and uploads, never change or
-- remove them.
GRANT SELECT, INSERT ON evidence_files, evidence_uploads TO complyflow_app;
GRANT USAGE ON SEQUENCE evidence_uploads_id_seq TO complyflow_app;

-- 3. Vendor review cycles: one row per workflow (vendor-review/<vendor>/<cycle>).
-- The review's findings are those of the decision that accepted the report
-- (or the last one); every decision is kept in vendor_review_decisions.
CREATE TABLE vendor_reviews (
    id                     text PRIMARY KEY,
    vendor_id              text NOT NULL REFERENCES vendors (id),
    cycle                  text NOT NULL,
    status                 text NOT NULL CHECK (status IN
                               ('requested', 'received', 'follow-ups', 'accepted', 'rejected')),
    round                  int NOT NULL DEFAULT 1,
    requested_at           timestamptz NOT NULL,
    due_at                 timestamptz NOT NULL,
    reviewer_id            text NOT NULL REFERENCES people (id),
    control_ids            text[] NOT NULL DEFAULT '{}',
    cadence_months         int NOT NULL CHECK (cadence_months > 0),
    request_before_days    int NOT NULL CHECK (request_before_days >= 0),
    evidence_sha256        text REFERENCES evidence_files (sha256),
    report_type            text NOT NULL DEFAULT '',
    period_start           date,
    period_end             date,
    audit_firm             text NOT NULL DEFAULT '',
    opinion                text NOT NULL DEFAULT '',
    exceptions             text NOT NULL DEFAULT '',
    bridge_letter_needed   boolean,
    bridge_letter_received boolean,
    decision               text NOT NULL DEFAULT '',
    decision_note          text NOT NULL DEFAULT '',
    decided_by             text REFERENCES people (id),
    decided_at             timestamptz,
    -- From the accepted report's period end: the report covers us until
    -- coverage_until (period end + the cadence), and the next cycle is
    -- requested at next_request_at (that, less request_before_days).
    coverage_until         date,
    next_request_at        timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (vendor_id, cycle)
);
CREATE INDEX vendor_reviews_vendor_idx ON vendor_reviews (vendor_id, created_at);

-- One row per review decision, accepted or not: what the reviewer found.
CREATE TABLE vendor_review_decisions (
    review_id  text NOT NULL REFERENCES vendor_reviews (id),
    round      int NOT NULL,
    task_id    text NOT NULL,
    decided_by text NOT NULL REFERENCES people (id),
    decision   text NOT NULL CHECK (decision IN ('accept', 'accept-with-follow-ups', 'reject')),
    note       text NOT NULL DEFAULT '',
    findings   jsonb NOT NULL,
    decided_at timestamptz NOT NULL,
    PRIMARY KEY (review_id, round)
);

-- The complementary user-entity controls a report names, each mapped to
-- the program's control that operates it.
CREATE TABLE vendor_review_cuecs (
    review_id   text NOT NULL REFERENCES vendor_reviews (id),
    round       int NOT NULL,
    position    int NOT NULL,
    description text NOT NULL,
    control_id  text NOT NULL REFERENCES controls (id),
    PRIMARY KEY (review_id, round, position)
);
CREATE INDEX vendor_review_cuecs_control_idx ON vendor_review_cuecs (control_id);

GRANT SELECT, INSERT, UPDATE ON vendor_reviews TO complyflow_app;
GRANT SELECT, INSERT ON vendor_review_decisions, vendor_review_cuecs TO complyflow_app;

-- Retention: seven years, the owner included (as 0007 does for tasks). A
-- file is kept seven years from its last upload; a review from its last
-- change; its decisions and CUECs from when they were made.
CREATE FUNCTION vendor_evidence_before_delete() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    since timestamptz;
    what  text;
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'evidence_files' THEN
        what := 'evidence file ' || OLD.sha256;
        since := greatest(OLD.created_at, (SELECT max(u.uploaded_at) FROM public.evidence_uploads u WHERE u.sha256 = OLD.sha256));
    WHEN 'evidence_uploads' THEN
        what := 'evidence upload ' || OLD.id;
        since := OLD.uploaded_at;
    WHEN 'vendor_reviews' THEN
        what := 'vendor review ' || OLD.id;
        since := OLD.updated_at;
    WHEN 'vendor_review_decisions' THEN
        what := 'vendor review ' || OLD.review_id || ' decision ' || OLD.round;
        since := OLD.decided_at;
    ELSE
        what := 'vendor review ' || OLD.review_id || ' CUEC';
        since := (SELECT r.updated_at FROM public.vendor_reviews r WHERE r.id = OLD.review_id);
    END CASE;
    IF since + interval '7 years' > now() THEN
        RAISE EXCEPTION '%: evidence is retained for 7 years, until %', what, since + interval '7 years'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$$;

CREATE FUNCTION vendor_evidence_before_truncate() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '%: evidence is retained for 7 years; delete rows past it instead of truncating', TG_TABLE_NAME
        USING ERRCODE = 'check_violation';
END
$$;

-- Files and uploads are never changed, by the owner either.
CREATE FUNCTION evidence_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '%: evidence is written once and never changed', TG_TABLE_NAME
        USING ERRCODE = 'check_violation';
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['evidence_files', 'evidence_uploads', 'vendor_reviews', 'vendor_review_decisions', 'vendor_review_cuecs'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION vendor_evidence_before_delete()', t || '_before_delete', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION vendor_evidence_before_truncate()', t || '_before_truncate', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['evidence_files', 'evidence_uploads', 'vendor_review_decisions', 'vendor_review_cuecs'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION evidence_before_update()', t || '_before_update', t);
    END LOOP;
END
$$;
