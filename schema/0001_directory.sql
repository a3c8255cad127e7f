-- The directory: people, the roles they hold in the program, systems and
-- vendors. Tables belong to the migrating role; the application connects as
-- complyflow_app, which gets only the grants each migration gives it.

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

-- Who holds each role of the program (security_officer, privacy_officer, coo,
-- ceo, ceo_designee, review_committee, ...). `starter program apply` fills it.
CREATE TABLE roles (
    role      text NOT NULL,
    person_id text NOT NULL REFERENCES people (id),
    PRIMARY KEY (role, person_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON people, systems, vendors, roles TO complyflow_app;
