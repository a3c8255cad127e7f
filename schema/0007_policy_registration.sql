-- Registering a policy from the program file records the text it was
-- registered from: policies.content_sha256, set by the apply from the policy's
-- file, becomes the first version's content hash (0004 recorded none). The
-- version is the one the program file gives (policies.version, YYYY.N) for a
-- policy already numbered before complyflow took it over, else YYYY.1 of the
-- year it was registered.
CREATE OR REPLACE FUNCTION policies_register_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m text[] := regexp_match(coalesce(NEW.version, ''), '^(\d{4})\.(\d+)$');
BEGIN
    IF NEW.version IS NOT NULL AND m IS NULL THEN
        RAISE EXCEPTION 'policy %: a registered version is YYYY.N, not %', NEW.id, NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO policy_versions (policy_id, year, seq, kind, summary, reference, content_sha256, published_by, published_at)
    VALUES (NEW.id, coalesce(m[1]::int, extract(year FROM NEW.created_at AT TIME ZONE 'UTC')::int), coalesce(m[2]::int, 1),
            'material', 'registered from the program file', NEW.source, NEW.content_sha256, 'program', NEW.created_at);
    RETURN NULL;
END
$$;
