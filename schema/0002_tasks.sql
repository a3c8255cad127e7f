-- Human tasks, their history, and every message sent about anything (the
-- notifications ledger that sends each message once).

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

GRANT SELECT, INSERT, UPDATE, DELETE ON tasks, task_events, notifications TO complyflow_app;
GRANT USAGE ON SEQUENCE task_events_id_seq, notifications_id_seq TO complyflow_app;
