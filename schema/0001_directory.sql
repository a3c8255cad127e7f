-- The directory (people, systems, vendors), human tasks, notifications and the
-- append-only audit log. Tables belong to the migrating role; the application
-- connects as complyflow_app, which gets only the grants below.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'complyflow_app') THEN
        CREATE ROLE complyflow_app NOLOGIN;
    END IF;
END
$$;

CREATE TABLE people (
    id            text PRIMARY KEY,
    email         text NOT NULL DEFAULT '',
    name          text NOT NULL,
    manager_id    text REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    slack_user_id text NOT NULL DEFAULT '',
    department    text NOT NULL DEFAULT '',
    title         text NOT NULL DEFAULT '',
    start_date    date,
    end_date      date,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_manager_idx ON people (manager_id);

CREATE TABLE systems (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    owner_id       text NOT NULL REFERENCES people (id),
    removal_method text NOT NULL CHECK (removal_method IN ('task', 'webhook')),
    webhook_url    text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vendors (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    contact_email text NOT NULL,
    owner_id      text NOT NULL REFERENCES people (id),
    criticality   text NOT NULL CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per human task; the workflow that runs it is tasks.id.
CREATE TABLE tasks (
    id             text PRIMARY KEY,
    assignee_id    text NOT NULL REFERENCES people (id),
    subject        text NOT NULL,
    body           text NOT NULL DEFAULT '',
    actions        text[] NOT NULL,
    control_id     text NOT NULL DEFAULT '',
    parent_ref     text NOT NULL DEFAULT '',
    due_at         timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled')),
    outcome_action text NOT NULL DEFAULT '',
    outcome_by     text REFERENCES people (id),
    outcome_note   text NOT NULL DEFAULT '',
    completed_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_open_idx ON tasks (due_at) WHERE status = 'open';
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id);

-- event_key makes each event idempotent under activity retries: "created",
-- "reminder/2", "escalated/1", "completed".
CREATE TABLE task_events (
    id         bigserial PRIMARY KEY,
    task_id    text NOT NULL REFERENCES tasks (id),
    event_key  text NOT NULL,
    kind       text NOT NULL,
    actor_id   text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, event_key)
);

-- One row per message sent (or refused). The idempotency key is the workflow's
-- purpose for the message, never the activity attempt, so a retry does not
-- send twice once a send was recorded.
CREATE TABLE notifications (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    channel         text NOT NULL CHECK (channel IN ('email', 'slack')),
    recipient_id    text NOT NULL DEFAULT '',
    address         text NOT NULL DEFAULT '',
    purpose         text NOT NULL,
    task_id         text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('sent', 'failed')),
    error           text NOT NULL DEFAULT '',
    provider_ref    text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_task_idx ON notifications (task_id);

-- The audit log is append-only for the application and hash-chained, so a
-- change made by anyone with more rights is detectable (`starter audit verify`).
-- The trigger numbers each row while it holds the chain lock, so id order is
-- chain order; the column has no default that would draw a number earlier.
CREATE SEQUENCE audit_log_id_seq;
CREATE TABLE audit_log (
    id              bigint PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    action          text NOT NULL,
    subject         text NOT NULL DEFAULT '',
    control_id      text NOT NULL DEFAULT '',
    detail          jsonb NOT NULL DEFAULT '{}',
    idempotency_key text UNIQUE,
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL
);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_subject_idx ON audit_log (subject);
CREATE INDEX audit_log_control_idx ON audit_log (control_id) WHERE control_id <> '';

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Serialise appends so each row's prev_hash is the row before it, and
    -- number the row only now: an id drawn before the lock could sort a row
    -- before one it was chained after.
    PERFORM pg_advisory_xact_lock(7405563241);
    NEW.id := nextval('audit_log_id_seq');
    SELECT hash INTO NEW.prev_hash FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(NEW.prev_hash, '\x'::bytea);
    NEW.hash := audit_log_hash(NEW.prev_hash, NEW.at, NEW.actor, NEW.action, NEW.subject, NEW.control_id, NEW.detail);
    RETURN NEW;
END
$$;

CREATE FUNCTION audit_log_hash(prev bytea, at timestamptz, actor text, action text, subject text, control_id text, detail jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || E'\x1f' || actor || E'\x1f' || action ||
        E'\x1f' || subject || E'\x1f' || control_id || E'\x1f' || detail::text, 'UTF8'))
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

GRANT SELECT, INSERT, UPDATE, DELETE ON people, systems, vendors, tasks, task_events, notifications TO complyflow_app;
GRANT SELECT, INSERT ON audit_log TO complyflow_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO complyflow_app;

-- Who holds each role of the program (security_officer, privacy_officer, coo,
-- ceo, ceo_designee, review_committee, ...). `starter program apply` fills it.
CREATE TABLE roles (
    role      text NOT NULL,
    person_id text NOT NULL REFERENCES people (id),
    PRIMARY KEY (role, person_id)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON roles TO complyflow_app;
