-- DR/BCP tests and random backup-restore tests (controls lists A and B:
-- "The Business Continuity and Disaster Recovery Plans are periodically
-- tested. Management uses test results to evaluate and update the plans";
-- data-security policy: "All backups undergo random testing"). Where an
-- anchor keeps a yes/no "tested" flag, these keep what was tested, against
-- which recovery targets, what was achieved, and every finding to closure.

-- One row per DR test (its workflow ID): the plan the coordinator made,
-- the outcome, and when it closed (every follow-up done).
CREATE TABLE dr_tests (
    id             text PRIMARY KEY,
    scenario       text NOT NULL DEFAULT '',
    coordinator_id text NOT NULL REFERENCES people (id),
    plan_owner_id  text NOT NULL REFERENCES people (id),
    status         text NOT NULL CHECK (status IN ('planning', 'scheduled', 'follow-ups', 'closed')),
    exercise_date  date,
    participants   text[] NOT NULL DEFAULT '{}',
    planned_by     text NOT NULL DEFAULT '',
    passed         boolean,
    results_by     text NOT NULL DEFAULT '',
    results_at     timestamptz,
    notes          text NOT NULL DEFAULT '',
    control_ids    text[] NOT NULL DEFAULT '{}',
    opened_at      timestamptz NOT NULL,
    closed_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Per system tested: its recovery targets as the program file set them
-- when the results were recorded, what was achieved, and whether each was met.
CREATE TABLE dr_test_systems (
    test_id           text NOT NULL REFERENCES dr_tests (id),
    system_id         text NOT NULL REFERENCES systems (id),
    rto_target        interval NOT NULL,
    rpo_target        interval NOT NULL,
    rto_achieved      interval NOT NULL,
    rpo_achieved      interval NOT NULL,
    rto_met           boolean NOT NULL,
    rpo_met           boolean NOT NULL,
    integrity_checked boolean NOT NULL,
    recorded_at       timestamptz NOT NULL,
    PRIMARY KEY (test_id, system_id)
);

-- Each finding of a test: a follow-up task with an owner and a due date,
-- closed once (kind 'plan-update' is the plan owner's task after a failure).
CREATE TABLE dr_test_findings (
    test_id   text NOT NULL REFERENCES dr_tests (id),
    n         int NOT NULL CHECK (n > 0),
    kind      text NOT NULL CHECK (kind IN ('finding', 'plan-update')),
    title     text NOT NULL,
    owner_id  text NOT NULL REFERENCES people (id),
    due       date NOT NULL,
    task_id   text NOT NULL,
    closed_by text NOT NULL DEFAULT '',
    closed_at timestamptz,
    PRIMARY KEY (test_id, n)
);

-- One row per random backup-restore test: the candidates, the system
-- picked at random, and the restore as the person who did it recorded it;
-- a failed restore's follow-up (a task to the system's owner) and its
-- closure. It closes when recorded passed, or when the follow-up is done.
CREATE TABLE backup_restore_tests (
    id                text PRIMARY KEY,
    candidates        text[] NOT NULL,
    system_id         text NOT NULL REFERENCES systems (id),
    assignee_id       text NOT NULL REFERENCES people (id),
    picked_at         timestamptz NOT NULL,
    restored_what     text NOT NULL DEFAULT '',
    restored_where    text NOT NULL DEFAULT '',
    duration          interval,
    integrity_checked boolean,
    passed            boolean,
    notes             text NOT NULL DEFAULT '',
    recorded_by       text NOT NULL DEFAULT '',
    recorded_at       timestamptz,
    follow_up_task    text NOT NULL DEFAULT '',
    follow_up_closed_by text NOT NULL DEFAULT '',
    closed_at         timestamptz,
    control_ids       text[] NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON dr_tests, dr_test_systems, dr_test_findings, backup_restore_tests TO complyflow_app;
GRANT UPDATE (status, scenario, exercise_date, participants, planned_by, passed, results_by, results_at, notes, closed_at) ON dr_tests TO complyflow_app;
GRANT UPDATE (closed_by, closed_at) ON dr_test_findings TO complyflow_app;
GRANT UPDATE (restored_what, restored_where, duration, integrity_checked, passed, notes, recorded_by, recorded_at,
    follow_up_task, follow_up_closed_by, closed_at) ON backup_restore_tests TO complyflow_app;

-- A closed test, a closed finding and a closed restore test never change.
CREATE FUNCTION dr_evidence_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF (pg_catalog.to_jsonb(OLD) ->> TG_ARGV[0]) IS NOT NULL THEN
        RAISE EXCEPTION '% row: it is closed and cannot change', TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER dr_tests_before_update BEFORE UPDATE ON dr_tests
    FOR EACH ROW EXECUTE FUNCTION dr_evidence_before_update('closed_at');
CREATE TRIGGER dr_test_findings_before_update BEFORE UPDATE ON dr_test_findings
    FOR EACH ROW EXECUTE FUNCTION dr_evidence_before_update('closed_at');
CREATE TRIGGER backup_restore_tests_before_update BEFORE UPDATE ON backup_restore_tests
    FOR EACH ROW EXECUTE FUNCTION dr_evidence_before_update('closed_at');

-- Evidence is retained 7 years (0011's rule; TG_ARGV[0] names the column
-- the seven years run from), and never truncated.
CREATE TRIGGER dr_tests_before_delete BEFORE DELETE ON dr_tests
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('opened_at');
CREATE TRIGGER dr_test_systems_before_delete BEFORE DELETE ON dr_test_systems
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('recorded_at');
CREATE TRIGGER dr_test_findings_before_delete BEFORE DELETE ON dr_test_findings
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('closed_at');
CREATE TRIGGER backup_restore_tests_before_delete BEFORE DELETE ON backup_restore_tests
    FOR EACH ROW EXECUTE FUNCTION campaign_evidence_before_delete('picked_at');
CREATE TRIGGER dr_tests_before_truncate BEFORE TRUNCATE ON dr_tests
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();
CREATE TRIGGER dr_test_systems_before_truncate BEFORE TRUNCATE ON dr_test_systems
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();
CREATE TRIGGER dr_test_findings_before_truncate BEFORE TRUNCATE ON dr_test_findings
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();
CREATE TRIGGER backup_restore_tests_before_truncate BEFORE TRUNCATE ON backup_restore_tests
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_evidence_before_truncate();
