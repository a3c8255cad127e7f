-- Portal accounts (issue 15; data-security policy: "unique credentials:
-- email and encrypted passwords", bcrypt; security architecture: "strong
-- multi-factor authentication"). One account per person; the email is the
-- person's directory email. Sessions are server-side so a sign-out or an
-- admin's revocation ends them at once.

CREATE TABLE accounts (
    person_id       text PRIMARY KEY REFERENCES people (id),
    role            text NOT NULL CHECK (role IN ('employee', 'manager', 'officer', 'auditor', 'admin')),
    -- bcrypt; empty until the invitation is accepted (or for SSO-only accounts).
    password_hash   text NOT NULL DEFAULT '',
    -- The TOTP secret (RFC 6238, base32); empty: no second factor enrolled.
    totp_secret     text NOT NULL DEFAULT '',
    -- The last 30-second step a code was accepted for: a code is used once.
    totp_last_step  bigint NOT NULL DEFAULT 0,
    -- SHA-256 of each unused recovery code (hex); one is struck when used.
    recovery_codes  text[] NOT NULL DEFAULT '{}',
    -- Failed sign-ins in a row, and the lock they led to.
    failed_signins  integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    -- An account may be used only within [valid_from, valid_until); an
    -- auditor's is always bounded (the auditor issue builds on it), and may
    -- name the audit period it reads.
    valid_from      timestamptz NOT NULL DEFAULT now(),
    valid_until     timestamptz,
    audit_from      date,
    audit_to        date,
    -- The OIDC issuer and subject of a single-sign-on account.
    oidc_issuer     text NOT NULL DEFAULT '',
    oidc_subject    text NOT NULL DEFAULT '',
    disabled        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'auditor' OR valid_until IS NOT NULL),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CHECK (audit_from IS NULL OR audit_to IS NULL OR audit_from <= audit_to)
);
CREATE UNIQUE INDEX accounts_oidc_idx ON accounts (oidc_issuer, oidc_subject) WHERE oidc_subject <> '';

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is
-- stored, so a read of this table signs nobody in.
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    person_id    text NOT NULL REFERENCES accounts (person_id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    address      text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_person_idx ON sessions (person_id) WHERE revoked_at IS NULL;

-- The emailed invitation and reset links: each names one of these rows,
-- which is struck when used (single use) and expires.
CREATE TABLE account_links (
    id          text PRIMARY KEY,
    person_id   text NOT NULL REFERENCES accounts (person_id),
    purpose     text NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

GRANT SELECT, INSERT, UPDATE ON accounts, sessions, account_links TO complyflow_app;

-- Row-level security (issue 15 item 4; data-security policy: "Row-Level
-- Security to restrict access to data rows ... based on each user's
-- authorization context"). The portal's signed-in pages read as
-- complyflow_portal, which owns nothing and may only read; each request's
-- transaction sets complyflow.person_id and complyflow.role (SET LOCAL, in
-- portal/principal.go's inScope), and the policies below let an employee
-- read only their own rows, a manager also their direct reports', and an
-- officer or auditor every row. Without those settings it reads no row.
-- scripts/postgres.sh (and deploy/init-db.sh) make the role with LOGIN; it
-- is made here only where they have not run (tests of the migrations).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'complyflow_portal') THEN
        CREATE ROLE complyflow_portal NOLOGIN;
    END IF;
END
$$;

-- Reads only, and never the credentials.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO complyflow_portal;
REVOKE ALL ON accounts, sessions, account_links FROM complyflow_portal;

-- Whose rows the person of the current transaction may see: NULL for
-- everyone's (an officer or auditor), else themselves and, for a manager,
-- everyone who reports to them directly or through their managers (issue 15:
-- "a manager their reports'"). The policies call it in uncorrelated
-- subqueries, so it runs once per query, not once per row, and a row is
-- matched against the people by hash.
CREATE FUNCTION complyflow_visible_people() RETURNS text[] LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT CASE
        WHEN current_setting('complyflow.role', true) IN ('officer', 'auditor') THEN NULL
        WHEN nullif(current_setting('complyflow.person_id', true), '') IS NULL THEN '{}'::text[]
        WHEN current_setting('complyflow.role', true) = 'manager' THEN ARRAY(
            WITH RECURSIVE team AS (
                SELECT current_setting('complyflow.person_id', true) AS id
                UNION
                SELECT p.id FROM people p JOIN team ON p.manager_id = team.id)
            SELECT id FROM team)
        ELSE ARRAY[current_setting('complyflow.person_id', true)]
    END
$$;
GRANT EXECUTE ON FUNCTION complyflow_visible_people() TO complyflow_portal;

-- The evidence tables a person's pages read. The worker's role
-- (complyflow_app) keeps every row: it runs the processes for everyone, and
-- its writes are guarded by the grants and triggers of earlier migrations.
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasks_app ON tasks TO complyflow_app USING (true) WITH CHECK (true);
CREATE POLICY tasks_portal ON tasks FOR SELECT TO complyflow_portal USING ((SELECT complyflow_visible_people()) IS NULL
    OR assignee_id IN (SELECT unnest(complyflow_visible_people())));

ALTER TABLE task_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY task_events_app ON task_events TO complyflow_app USING (true) WITH CHECK (true);
CREATE POLICY task_events_portal ON task_events FOR SELECT TO complyflow_portal
    USING ((SELECT complyflow_visible_people()) IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = task_id));

ALTER TABLE assignments ENABLE ROW LEVEL SECURITY;
CREATE POLICY assignments_app ON assignments TO complyflow_app USING (true) WITH CHECK (true);
CREATE POLICY assignments_portal ON assignments FOR SELECT TO complyflow_portal USING ((SELECT complyflow_visible_people()) IS NULL
    OR person_id IN (SELECT unnest(complyflow_visible_people())));

ALTER TABLE acknowledgements ENABLE ROW LEVEL SECURITY;
CREATE POLICY acknowledgements_app ON acknowledgements TO complyflow_app USING (true) WITH CHECK (true);
CREATE POLICY acknowledgements_portal ON acknowledgements FOR SELECT TO complyflow_portal USING ((SELECT complyflow_visible_people()) IS NULL
    OR person_id IN (SELECT unnest(complyflow_visible_people())));

ALTER TABLE training_completions ENABLE ROW LEVEL SECURITY;
CREATE POLICY training_completions_app ON training_completions TO complyflow_app USING (true) WITH CHECK (true);
CREATE POLICY training_completions_portal ON training_completions FOR SELECT TO complyflow_portal USING ((SELECT complyflow_visible_people()) IS NULL
    OR person_id IN (SELECT unnest(complyflow_visible_people())));

-- The audit log: officers and auditors only.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_app ON audit_log TO complyflow_app USING (true) WITH CHECK (true);
CREATE POLICY audit_log_portal ON audit_log FOR SELECT TO complyflow_portal
    USING (coalesce(current_setting('complyflow.role', true) IN ('officer', 'auditor'), false));
