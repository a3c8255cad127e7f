-- API tokens (issue 16 item 6): bearer tokens for auditors' and GRC tools'
-- automation of the /api/v1 queries. An admin creates one for an auditor
-- (`starter api-token create`); it acts as that person, with the auditor
-- role, until it expires or is revoked, and never outside the person's
-- account window. Only the token's SHA-256 is stored, so a read of this
-- table authenticates nobody.
CREATE TABLE api_tokens (
    -- hex SHA-256 of the token
    hash        text PRIMARY KEY,
    -- the short public name an admin revokes it by (printed at creation)
    id          text NOT NULL UNIQUE,
    person_id   text NOT NULL REFERENCES accounts (person_id),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_by  text NOT NULL DEFAULT '',
    CHECK (expires_at > created_at)
);
CREATE INDEX api_tokens_person_idx ON api_tokens (person_id);

GRANT SELECT, INSERT ON api_tokens TO complyflow_app;
GRANT UPDATE (revoked_at, revoked_by) ON api_tokens TO complyflow_app;
-- The portal's read role never sees credentials (as schema/0017 for accounts).
REVOKE ALL ON api_tokens FROM complyflow_portal;
