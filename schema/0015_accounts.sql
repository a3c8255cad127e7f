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
