-- A task evidences every control its process is mapped to, not only the
-- first: tasks.control_ids replaces tasks.control_id, so a task is found
-- under each of its controls (WHERE $1 = ANY(control_ids), served by the GIN
-- index) and its audit entries are written once per control.

ALTER TABLE tasks ADD COLUMN control_ids text[] NOT NULL DEFAULT '{}'
    CHECK (array_position(control_ids, '') IS NULL AND array_position(control_ids, NULL) IS NULL);

-- Existing tasks keep the control they had. Their other columns never change
-- (0007): the trigger that says so is paused for this one copy only, inside
-- this migration's transaction, and then checks control_ids like the rest.
ALTER TABLE tasks DISABLE TRIGGER tasks_before_update;
UPDATE tasks SET control_ids = ARRAY[control_id] WHERE control_id <> '';
ALTER TABLE tasks ENABLE TRIGGER tasks_before_update;

ALTER TABLE tasks DROP COLUMN control_id;

CREATE INDEX tasks_control_ids_idx ON tasks USING GIN (control_ids);

-- 0007's trigger, with control_ids in place of control_id among the columns
-- that never change; everything else as it was.
CREATE OR REPLACE FUNCTION tasks_before_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.status <> 'open' THEN
        RAISE EXCEPTION 'task %: it is % and cannot change', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.id, NEW.assignee_id, NEW.subject, NEW.body, NEW.actions, NEW.control_ids, NEW.parent_ref, NEW.due_at, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.assignee_id, OLD.subject, OLD.body, OLD.actions, OLD.control_ids, OLD.parent_ref, OLD.due_at, OLD.created_at) THEN
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
