-- Offboarding access removal (controls lists A and B: "Upon termination or
-- when internal personnel no longer require access, system access is
-- removed"): what each system's removal step needs, the deadlines the
-- program file sets, one record per offboarding and one evidence row per
-- system removed.

-- Systems: removal by a task to the owner ('manual', formerly 'task'), a
-- signed webhook, or SCIM 2.0; criticality picks the removal deadline.
ALTER TABLE systems DROP CONSTRAINT systems_removal_method_check;
UPDATE systems SET removal_method = 'manual' WHERE removal_method = 'task';
ALTER TABLE systems
    ADD CONSTRAINT systems_removal_method_check CHECK (removal_method IN ('manual', 'webhook', 'scim')),
    ADD COLUMN criticality text NOT NULL DEFAULT 'medium' CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    ADD COLUMN scim_base_url text NOT NULL DEFAULT '',
    -- The name of the environment variable holding the SCIM bearer token:
    -- the token itself is never stored in the database.
    ADD COLUMN scim_token_env text NOT NULL DEFAULT '';

-- The program file's offboarding section, replaced by each `starter program
-- apply`: per criticality, how long after the end of the last day access
-- must be removed, the reminder cadence, and how long after the deadline the
-- security officer is added (the owner's manager is added at the deadline).
CREATE TABLE offboarding_deadlines (
    criticality     text PRIMARY KEY CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    deadline_after  interval NOT NULL CHECK (deadline_after > interval '0'),
    remind_every    interval NOT NULL CHECK (remind_every > interval '0'),
    officer_after   interval NOT NULL CHECK (officer_after >= interval '0')
);

-- One row per offboarding run (offboarding/<person> may run again after a
-- rehire, so the run ID is the key).
CREATE TABLE offboardings (
    run_id      text PRIMARY KEY,
    workflow_id text NOT NULL,
    person_id   text NOT NULL REFERENCES people (id),
    last_day    date NOT NULL,
    started_by  text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled')),
    closed_by   text NOT NULL DEFAULT '',
    close_note  text NOT NULL DEFAULT '',
    closed_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX offboardings_person_idx ON offboardings (person_id);

-- One row per system whose access removal was confirmed: who, when, how,
-- the connector's answer (status code, SHA-256 of its body), the deadline
-- and whether it was met. Written once, never changed.
CREATE TABLE offboarding_removals (
    run_id          text NOT NULL REFERENCES offboardings (run_id),
    system_id       text NOT NULL REFERENCES systems (id),
    method          text NOT NULL CHECK (method IN ('manual', 'webhook', 'scim')),
    outcome         text NOT NULL CHECK (outcome IN ('removed', 'no_account')),
    removed_by      text NOT NULL,
    removed_at      timestamptz NOT NULL,
    deadline        timestamptz NOT NULL,
    met             boolean NOT NULL,
    connector_status integer,
    connector_body_sha256 text NOT NULL DEFAULT '',
    fallback_reason text NOT NULL DEFAULT '',
    task_id         text NOT NULL DEFAULT '',
    note            text NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, system_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON offboarding_deadlines TO complyflow_app;
GRANT SELECT, INSERT ON offboardings, offboarding_removals TO complyflow_app;
GRANT UPDATE (status, closed_by, close_note, closed_at) ON offboardings TO complyflow_app;

-- An offboarding closes once (open -> completed | cancelled); nothing else
-- of it changes.
CREATE FUNCTION offboardings_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.status <> 'open' OR NEW.status = 'open' THEN
        RAISE EXCEPTION 'offboarding %: it is % and cannot become %', OLD.run_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.run_id, NEW.workflow_id, NEW.person_id, NEW.last_day, NEW.started_by, NEW.reason, NEW.created_at)
       IS DISTINCT FROM (OLD.run_id, OLD.workflow_id, OLD.person_id, OLD.last_day, OLD.started_by, OLD.reason, OLD.created_at) THEN
        RAISE EXCEPTION 'offboarding %: only its status may change', OLD.run_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER offboardings_before_update BEFORE UPDATE ON offboardings
    FOR EACH ROW EXECUTE FUNCTION offboardings_before_update();

-- Retention: seven years, the owner included (as 0007 for task evidence).
CREATE FUNCTION offboarding_evidence_before_delete() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    since timestamptz;
BEGIN
    IF TG_TABLE_NAME = 'offboardings' THEN
        since := coalesce(OLD.closed_at, 'infinity');
    ELSE
        since := OLD.removed_at;
    END IF;
    IF since + interval '7 years' > now() THEN
        RAISE EXCEPTION '% of run %: evidence is retained for 7 years', TG_TABLE_NAME, OLD.run_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER offboardings_before_delete BEFORE DELETE ON offboardings
    FOR EACH ROW EXECUTE FUNCTION offboarding_evidence_before_delete();
CREATE TRIGGER offboarding_removals_before_delete BEFORE DELETE ON offboarding_removals
    FOR EACH ROW EXECUTE FUNCTION offboarding_evidence_before_delete();
