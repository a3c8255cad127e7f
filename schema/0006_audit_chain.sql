-- The audit log's chain, hardened (issue 10, items 1 and 2).
--
-- 1. No role but the owner may create temporary objects, and every function
--    resolves names with pg_temp last: a temporary audit_log, sequence or view
--    made by the application role can no longer stand in for the real one
--    inside a trigger.
-- 2. The trigger stamps each row's `at` itself (the writer's value is
--    ignored), taken after the chain lock, so `at` never goes back in id
--    order; and the hash covers every column: id, at, actor, action, subject,
--    control_id, detail, idempotency_key and prev_hash, each length-prefixed
--    so no two rows encode alike. audit/verify.go computes the same hash in Go
--    and does not call the database's function.
-- 3. audit_checkpoints keeps the signed checkpoints (`starter audit
--    checkpoint`, and the worker daily): the application may only add and
--    read them. The signing key never reaches the database.

DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;

ALTER FUNCTION public.audit_log_chain() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION public.policy_versions_before_insert() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION public.policy_versions_after_insert() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION public.policy_versions_before_update() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION public.policy_versions_before_delete() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION public.policies_register_version() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION public.policies_version_guard() SET search_path = pg_catalog, public, pg_temp;

-- One field of the hash input: its length in bytes (4 bytes, big-endian),
-- then its UTF-8 bytes.
CREATE FUNCTION public.audit_log_field(v text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT int4send(octet_length(convert_to(v, 'UTF8'))) || convert_to(v, 'UTF8')
$$;

-- The hash of one row: sha256 over a version tag, then prev_hash, id, at (UTC,
-- microseconds), actor, action, subject, control_id, detail (jsonb's text
-- form), and the idempotency key (a byte 0 for none, else 1 and the key).
CREATE FUNCTION public.audit_log_hash_v2(prev bytea, id bigint, at timestamptz, actor text, action text,
    subject text, control_id text, detail jsonb, idempotency_key text)
RETURNS bytea LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT sha256(convert_to('complyflow-audit-v2', 'UTF8')
        || int4send(length(prev)) || prev
        || public.audit_log_field(id::text)
        || public.audit_log_field(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || public.audit_log_field(actor)
        || public.audit_log_field(action)
        || public.audit_log_field(subject)
        || public.audit_log_field(control_id)
        || public.audit_log_field(detail::text)
        || CASE WHEN idempotency_key IS NULL THEN '\x00'::bytea
                ELSE '\x01'::bytea || public.audit_log_field(idempotency_key) END)
$$;

CREATE OR REPLACE FUNCTION public.audit_log_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    -- Serialise appends; number and stamp the row only once the lock is held,
    -- so id order is chain order and `at` order.
    PERFORM pg_catalog.pg_advisory_xact_lock(7405563241);
    NEW.id := pg_catalog.nextval('public.audit_log_id_seq');
    NEW.at := pg_catalog.clock_timestamp();
    SELECT l.hash INTO NEW.prev_hash FROM public.audit_log l ORDER BY l.id DESC LIMIT 1;
    NEW.prev_hash := coalesce(NEW.prev_hash, '\x'::bytea);
    NEW.hash := public.audit_log_hash_v2(NEW.prev_hash, NEW.id, NEW.at, NEW.actor, NEW.action,
        NEW.subject, NEW.control_id, NEW.detail, NEW.idempotency_key);
    RETURN NEW;
END
$$;

-- Rows written before this migration carry the old hash. Re-hash them under
-- the new one, but only if the old chain verifies: a broken chain stops the
-- migration rather than being re-chained into a clean one.
DO $$
DECLARE
    r    record;
    prev bytea := '\x';
    h    bytea;
BEGIN
    LOCK TABLE public.audit_log IN EXCLUSIVE MODE;
    FOR r IN SELECT * FROM public.audit_log ORDER BY id LOOP
        IF r.prev_hash <> prev OR r.hash <> public.audit_log_hash(r.prev_hash, r.at, r.actor, r.action, r.subject, r.control_id, r.detail) THEN
            RAISE EXCEPTION 'audit_log row %: the chain does not verify (run `starter audit verify` on the previous release); not re-hashing a broken log', r.id;
        END IF;
        prev := r.hash;
    END LOOP;
    prev := '\x';
    FOR r IN SELECT * FROM public.audit_log ORDER BY id LOOP
        h := public.audit_log_hash_v2(prev, r.id, r.at, r.actor, r.action, r.subject, r.control_id, r.detail, r.idempotency_key);
        UPDATE public.audit_log SET prev_hash = prev, hash = h WHERE id = r.id;
        prev := h;
    END LOOP;
END
$$;
DROP FUNCTION public.audit_log_hash(bytea, timestamptz, text, text, text, text, jsonb);

-- Signed checkpoints: the newest row's id and hash and the number of rows, at
-- a time, signed with Ed25519 by a key kept outside the database. public_key
-- is informational only: verification uses the key the auditor holds.
CREATE TABLE audit_checkpoints (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    last_id    bigint NOT NULL,
    last_hash  bytea NOT NULL,
    row_count  bigint NOT NULL,
    signed_at  timestamptz NOT NULL,
    public_key bytea NOT NULL,
    signature  bytea NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON audit_checkpoints TO complyflow_app;
