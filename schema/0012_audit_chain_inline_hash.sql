-- The audit log's chain trigger computes each row's hash in its own body
-- instead of calling audit_log_hash_v2 (schema/0006_audit_chain.sql): the
-- same bytes, the same hash, but no nested SQL-function calls. Those cannot
-- be inlined (they SET search_path), and the nine calls per row cost about
-- 0.13 ms, most of a row's time under the chain lock, which every append in
-- the database waits for; the portal records thousands of signatures a
-- second through it (issue 11, the portal POST goal). audit_log_hash_v2
-- stays, for anyone recomputing a hash in SQL; audit/verify.go checks every
-- row in Go, so a difference would show as a broken chain.
CREATE OR REPLACE FUNCTION public.audit_log_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    buf   bytea;
    field text;
    b     bytea;
BEGIN
    -- Serialise appends; number and stamp the row only once the lock is held,
    -- so id order is chain order and `at` order.
    PERFORM pg_catalog.pg_advisory_xact_lock(7405563241);
    NEW.id := pg_catalog.nextval('public.audit_log_id_seq');
    NEW.at := pg_catalog.clock_timestamp();
    SELECT l.hash INTO NEW.prev_hash FROM public.audit_log l ORDER BY l.id DESC LIMIT 1;
    NEW.prev_hash := coalesce(NEW.prev_hash, '\x'::bytea);
    -- audit_log_hash_v2: a version tag, prev_hash (length-prefixed), then each
    -- field as audit_log_field writes it (its UTF-8 length in 4 bytes,
    -- big-endian, then its bytes), then the idempotency key (a byte 0 for
    -- none, else 1 and the key as a field).
    buf := convert_to('complyflow-audit-v2', 'UTF8') || int4send(length(NEW.prev_hash)) || NEW.prev_hash;
    FOREACH field IN ARRAY ARRAY[NEW.id::text, to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            NEW.actor, NEW.action, NEW.subject, NEW.control_id, NEW.detail::text] LOOP
        b := convert_to(field, 'UTF8');
        buf := buf || int4send(length(b)) || b;
    END LOOP;
    IF NEW.idempotency_key IS NULL THEN
        buf := buf || '\x00'::bytea;
    ELSE
        b := convert_to(NEW.idempotency_key, 'UTF8');
        buf := buf || '\x01'::bytea || int4send(length(b)) || b;
    END IF;
    NEW.hash := sha256(buf);
    RETURN NEW;
END
$$;
