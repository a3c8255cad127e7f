-- Task evidence is a record: the application may append task events and
-- notifications but never change or remove them; a task's status moves only
-- forward (open -> completed | cancelled) and its other columns never change;
-- and no evidence row (tasks, task_events, notifications, audit_log) is
-- deleted within seven years, by anyone, the owner included. Every task step
-- and every send is also written to the audit log (activities/humantask,
-- activities/notify), in the same transaction as its row.

-- Append-only. No code updates or deletes these rows: a notification is
-- inserted once under its idempotency key (notify.RecordNotification), a task
-- event once under (task_id, event_key).
REVOKE UPDATE, DELETE, TRUNCATE ON task_events, notifications FROM complyflow_app;

-- A task is closed by an UPDATE of its status and outcome columns only
-- (CompleteTask, CancelTask); the trigger below says which updates are allowed.
REVOKE UPDATE, DELETE, TRUNCATE ON tasks FROM complyflow_app;
GRANT UPDATE (status, outcome_action, outcome_by, outcome_note, completed_at) ON tasks TO complyflow_app;

CREATE FUNCTION tasks_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.status <> 'open' THEN
        RAISE EXCEPTION 'task %: it is % and cannot change', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.id, NEW.assignee_id, NEW.subject, NEW.body, NEW.actions, NEW.control_id, NEW.parent_ref, NEW.due_at, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.assignee_id, OLD.subject, OLD.body, OLD.actions, OLD.control_id, OLD.parent_ref, OLD.due_at, OLD.created_at) THEN
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
        IF (NEW.outcome_action, NEW.outcome_by, NEW.outcome_note, NEW.completed_at)
           IS DISTINCT FROM (OLD.outcome_action, OLD.outcome_by, OLD.outcome_note, OLD.completed_at) THEN
            RAISE EXCEPTION 'task %: a cancelled task has no outcome', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        -- Still open: nothing may change before the task is closed.
        IF NEW IS DISTINCT FROM OLD THEN
            RAISE EXCEPTION 'task %: an open task changes only by being completed or cancelled', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    END CASE;
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_before_update BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_before_update();

-- Retention: seven years from the row's last change (a task: from when it
-- was created, completed or last had an event; an open task is kept). This
-- binds the owner too; the application has no DELETE grant at all.
CREATE FUNCTION evidence_before_delete() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    since timestamptz;
    what  text;
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'tasks' THEN
        what := 'task ' || OLD.id;
        IF OLD.status = 'open' THEN
            RAISE EXCEPTION '%: evidence is retained for 7 years after the task closes, and it is open', what
                USING ERRCODE = 'check_violation';
        END IF;
        since := greatest(OLD.created_at, OLD.completed_at,
            (SELECT max(e.created_at) FROM public.task_events e WHERE e.task_id = OLD.id));
    WHEN 'task_events' THEN
        what := 'task ' || OLD.task_id || ' event ' || OLD.event_key;
        since := OLD.created_at;
    WHEN 'notifications' THEN
        what := 'notification ' || OLD.idempotency_key;
        since := OLD.created_at;
    WHEN 'audit_log' THEN
        what := 'audit_log row ' || OLD.id;
        since := OLD.at;
    END CASE;
    IF since + interval '7 years' > now() THEN
        RAISE EXCEPTION '%: evidence is retained for 7 years, until %', what, since + interval '7 years'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER tasks_before_delete BEFORE DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION evidence_before_delete();
CREATE TRIGGER task_events_before_delete BEFORE DELETE ON task_events
    FOR EACH ROW EXECUTE FUNCTION evidence_before_delete();
CREATE TRIGGER notifications_before_delete BEFORE DELETE ON notifications
    FOR EACH ROW EXECUTE FUNCTION evidence_before_delete();
CREATE TRIGGER audit_log_before_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION evidence_before_delete();

-- TRUNCATE fires no row trigger: refuse it while any row is within retention.
CREATE FUNCTION evidence_before_truncate() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    young boolean;
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'tasks' THEN
        young := EXISTS (SELECT 1 FROM public.tasks WHERE status = 'open'
                         OR greatest(created_at, completed_at) + interval '7 years' > now());
    WHEN 'task_events' THEN
        young := EXISTS (SELECT 1 FROM public.task_events WHERE created_at + interval '7 years' > now());
    WHEN 'notifications' THEN
        young := EXISTS (SELECT 1 FROM public.notifications WHERE created_at + interval '7 years' > now());
    WHEN 'audit_log' THEN
        young := EXISTS (SELECT 1 FROM public.audit_log WHERE at + interval '7 years' > now());
    END CASE;
    IF young THEN
        RAISE EXCEPTION '%: evidence is retained for 7 years; it holds rows within that time', TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_before_truncate BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_before_truncate();
CREATE TRIGGER task_events_before_truncate BEFORE TRUNCATE ON task_events
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_before_truncate();
CREATE TRIGGER notifications_before_truncate BEFORE TRUNCATE ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_before_truncate();
CREATE TRIGGER audit_log_before_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_before_truncate();
