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

GRANT SELECT, INSERT ON audit_log TO complyflow_app;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO complyflow_app;
