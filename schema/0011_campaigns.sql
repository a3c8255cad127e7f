-- Acknowledgement and training campaigns (control "Personnel Acknowledge
-- Security Policies"; controls list A: "read and sign acknowledgement of
-- security policies and procedures annually"; security-architecture §9:
-- security awareness training "not annually, but monthly").
--
-- One campaign is one Campaign workflow over many people: an assignment per
-- person, and for each a signature per policy version (acknowledgements) or
-- a passed training (training_completions). The portal writes signatures
-- straight here, not through the workflow; the workflow reads who is still
-- pending when it reminds and escalates.

-- Trainings come from the program file; `starter program apply` records each
-- with its content (a file's text, or a URL) and the content's SHA-256.
CREATE TABLE trainings (
    id             text PRIMARY KEY,
    title          text NOT NULL,
    source         text NOT NULL,                -- the file or URL the program file names
    content        text NOT NULL DEFAULT '',     -- the file's text; empty for a URL
    content_sha256 text NOT NULL DEFAULT '',
    -- [{"question": "...", "choices": ["..."], "correct": [0, 2]}]; [] for none.
    quiz           jsonb NOT NULL DEFAULT '[]',
    pass_mark      integer NOT NULL DEFAULT 0 CHECK (pass_mark >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The program file's obligations as applied, so processes started outside a
-- schedule (a re-acknowledgement after a material change, new hires, the
-- starter) take their cadence and escalation from the program in force.
CREATE TABLE obligations (
    id              text PRIMARY KEY,
    process         text NOT NULL,
    due             interval NOT NULL,
    remind_every    interval,
    escalation      jsonb NOT NULL DEFAULT '[]',  -- [{"After": ns, "To": "@manager"}]
    control_ids     text[] NOT NULL DEFAULT '{}',
    scope           text[] NOT NULL DEFAULT '{}',
    departments     text[] NOT NULL DEFAULT '{}', -- the audience; empty: everyone active
    training_id     text NOT NULL DEFAULT '',
    new_hire_within interval
);

CREATE TABLE campaigns (
    id            text PRIMARY KEY,              -- the Campaign workflow's ID
    kind          text NOT NULL CHECK (kind IN ('acknowledgement', 'training')),
    title         text NOT NULL,
    obligation_id text NOT NULL DEFAULT '',
    training_id   text NOT NULL DEFAULT '' ,
    departments   text[] NOT NULL DEFAULT '{}',
    reason        text NOT NULL,                 -- why it runs: a schedule, a material change, new hires, a person
    started_by    text NOT NULL,
    control_ids   text[] NOT NULL DEFAULT '{}',
    due_at        timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz
);

-- What an acknowledgement campaign asks to be accepted: the exact versions in
-- force when it opened, with their text's SHA-256.
CREATE TABLE campaign_policies (
    campaign_id text NOT NULL REFERENCES campaigns (id),
    policy_id   text NOT NULL,
    version     text NOT NULL,
    text_sha256 text NOT NULL,
    PRIMARY KEY (campaign_id, policy_id)
);

-- One row per person in the campaign's audience, inserted once: the primary
-- key makes a retried assignment a no-op, never a second row.
CREATE TABLE assignments (
    campaign_id   text NOT NULL REFERENCES campaigns (id),
    person_id     text NOT NULL REFERENCES people (id),
    due_at        timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'left')),
    escalated     integer NOT NULL DEFAULT 0,   -- escalation steps taken for this person
    created_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    PRIMARY KEY (campaign_id, person_id)
);
CREATE INDEX assignments_pending_idx ON assignments (campaign_id, person_id) WHERE status = 'pending';
CREATE INDEX assignments_person_idx ON assignments (person_id);

-- An assignment closes once, as completed or left; who, what and when never change.
CREATE FUNCTION assignments_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF (NEW.campaign_id, NEW.person_id, NEW.due_at, NEW.created_at)
       IS DISTINCT FROM (OLD.campaign_id, OLD.person_id, OLD.due_at, OLD.created_at) THEN
        RAISE EXCEPTION 'assignment %/%: only its status and escalation may change', OLD.campaign_id, OLD.person_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status <> 'pending' AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'assignment %/%: it is % and cannot change', OLD.campaign_id, OLD.person_id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status <> 'pending' AND NEW.closed_at IS NULL THEN
        NEW.closed_at := pg_catalog.now();
    END IF;
    IF NEW.escalated < OLD.escalated THEN
        RAISE EXCEPTION 'assignment %/%: an escalation cannot be undone', OLD.campaign_id, OLD.person_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER assignments_before_update BEFORE UPDATE ON assignments
    FOR EACH ROW EXECUTE FUNCTION assignments_before_update();

-- Proof of each signature: who (person and email), what (policy, version and
-- its text's SHA-256), how (channel), when, from where (client address, user
-- agent), sealed by a SHA-256 over all of them (campaign.Seal). One per
-- person, policy and campaign: a second click records nothing.
CREATE TABLE acknowledgements (
    id           bigserial PRIMARY KEY,
    campaign_id  text NOT NULL REFERENCES campaigns (id),
    person_id    text NOT NULL REFERENCES people (id),
    email        text NOT NULL,
    policy_id    text NOT NULL,
    version      text NOT NULL,
    text_sha256  text NOT NULL,
    channel      text NOT NULL CHECK (channel IN ('portal', 'slack')),
    at           timestamptz NOT NULL,
    client_addr  text NOT NULL,
    user_agent   text NOT NULL,
    seal         text NOT NULL,
    UNIQUE (campaign_id, person_id, policy_id),
    FOREIGN KEY (campaign_id, policy_id) REFERENCES campaign_policies (campaign_id, policy_id)
);
CREATE INDEX acknowledgements_person_idx ON acknowledgements (person_id);
CREATE INDEX acknowledgements_policy_idx ON acknowledgements (policy_id, version);

-- A passed training, with its score; sealed like an acknowledgement.
CREATE TABLE training_completions (
    id             bigserial PRIMARY KEY,
    campaign_id    text NOT NULL REFERENCES campaigns (id),
    person_id      text NOT NULL REFERENCES people (id),
    email          text NOT NULL,
    training_id    text NOT NULL,
    content_sha256 text NOT NULL,
    score          integer NOT NULL,
    out_of         integer NOT NULL,
    channel        text NOT NULL CHECK (channel IN ('portal', 'slack')),
    at             timestamptz NOT NULL,
    client_addr    text NOT NULL,
    user_agent     text NOT NULL,
    seal           text NOT NULL,
    UNIQUE (campaign_id, person_id)
);
CREATE INDEX training_completions_person_idx ON training_completions (person_id);

-- Signatures and campaign records are evidence: append-only for the
-- application, and retained seven years (TG_ARGV[0] names the column the
-- seven years run from).
REVOKE UPDATE, DELETE, TRUNCATE ON acknowledgements, training_completions, campaign_policies FROM complyflow_app;
GRANT SELECT, INSERT ON trainings, obligations, campaigns, campaign_policies, assignments,
    acknowledgements, training_completions TO complyflow_app;
GRANT UPDATE, DELETE ON trainings, obligations TO complyflow_app;
GRANT UPDATE (closed_at) ON campaigns TO complyflow_app;
GRANT UPDATE (status, escalated, closed_at) ON assignments TO complyflow_app;
GRANT USAGE ON SEQUENCE acknowledgements_id_seq, training_completions_id_seq TO complyflow_app;

CREATE FUNCTION campaign_evidence_before_delete() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    since timestamptz := (pg_catalog.to_jsonb(OLD) ->> TG_ARGV[0])::timestamptz;
BEGIN
    IF since IS NULL OR since + interval '7 years' > pg_catalog.now() THEN
        RAISE EXCEPTION '% row: evidence is retained for 7 years', TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER campaigns_before_delete BEFORE DELETE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('created_at');
CREATE TRIGGER assignments_before_delete BEFORE DELETE ON assignments
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('closed_at');
CREATE TRIGGER acknowledgements_before_delete BEFORE DELETE ON acknowledgements
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('at');
CREATE TRIGGER training_completions_before_delete BEFORE DELETE ON training_completions
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('at');

CREATE FUNCTION campaign_evidence_before_truncate() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '%: evidence is retained for 7 years; delete expired rows one by one', TG_TABLE_NAME
        USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER campaigns_before_truncate BEFORE TRUNCATE ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();
CREATE TRIGGER assignments_before_truncate BEFORE TRUNCATE ON assignments
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();
CREATE TRIGGER acknowledgements_before_truncate BEFORE TRUNCATE ON acknowledgements
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();
CREATE TRIGGER training_completions_before_truncate BEFORE TRUNCATE ON training_completions
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();

