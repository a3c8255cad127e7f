-- The program file as applied: every version in force (so an auditor can see
-- which program applied on a given day), the policies, and the controls with
-- their framework mapping, so records can be queried by control or by
-- framework requirement. `starter program apply` fills these in one
-- transaction with the roles table.

-- Append-only for the application: a version is a fact about the past.
CREATE TABLE program_versions (
    id             bigserial PRIMARY KEY,
    content_hash   text NOT NULL,
    file           text NOT NULL,
    content        text NOT NULL,
    obligation_ids text[] NOT NULL,
    applied_at     timestamptz NOT NULL DEFAULT now(),
    applied_by     text NOT NULL,
    -- The schedule changes this apply made: [{"kind":"create","schedule_id":...}].
    changes        jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX program_versions_applied_idx ON program_versions (applied_at);

-- Upserted by apply; the policy lifecycle adds its versioning columns.
-- A policy that leaves the file stays: records and versions refer to it.
CREATE TABLE policies (
    id         text PRIMARY KEY,
    title      text NOT NULL,
    owner_id   text NOT NULL REFERENCES people (id),
    source     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A control that leaves the file is retired, not deleted: tasks and records
-- keep naming it.
CREATE TABLE controls (
    id          text PRIMARY KEY,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    processes   text[] NOT NULL DEFAULT '{}',
    retired_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE framework_requirements (
    framework text NOT NULL CHECK (framework IN ('soc2', 'hipaa', 'gdpr')),
    ref       text NOT NULL,
    PRIMARY KEY (framework, ref)
);

CREATE TABLE control_requirements (
    control_id text NOT NULL REFERENCES controls (id),
    framework  text NOT NULL,
    ref        text NOT NULL,
    PRIMARY KEY (control_id, framework, ref),
    FOREIGN KEY (framework, ref) REFERENCES framework_requirements (framework, ref)
);
CREATE INDEX control_requirements_requirement_idx ON control_requirements (framework, ref);

CREATE TABLE control_policies (
    control_id text NOT NULL REFERENCES controls (id),
    policy_id  text NOT NULL REFERENCES policies (id),
    PRIMARY KEY (control_id, policy_id)
);
CREATE INDEX control_policies_policy_idx ON control_policies (policy_id);

GRANT SELECT, INSERT ON program_versions TO complyflow_app;
GRANT USAGE ON SEQUENCE program_versions_id_seq TO complyflow_app;
GRANT SELECT, INSERT, UPDATE ON policies, controls TO complyflow_app;
GRANT SELECT, INSERT ON framework_requirements TO complyflow_app;
GRANT SELECT, INSERT, DELETE ON control_requirements, control_policies TO complyflow_app;
