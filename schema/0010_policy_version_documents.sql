-- Every policy version holds its document: its text (body), or a reference
-- to where the text lives (a URL, or the file a policy was registered from).
-- "Archived" is then the archive of a document, never a timestamp on an
-- empty row.

-- A database holding a version without either cannot take the rule: its
-- document was never recorded, and a version is a record that cannot be
-- changed (policy_versions_before_update). Refuse, naming them, so the owner
-- decides what each one's document is before migrating again.
DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(policy_id || ' ' || version, ', ' ORDER BY policy_id, year, seq, revision) INTO missing
        FROM policy_versions WHERE body = '' AND reference = '';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'policy versions without their text or a reference to it: %', missing
            USING ERRCODE = 'check_violation',
                  HINT = 'Record where each one''s document lives (policy_versions.reference, as the table owner '
                         'with policy_versions_before_update disabled), then migrate again.';
    END IF;
END
$$;

ALTER TABLE policy_versions ADD CONSTRAINT policy_versions_document CHECK (body <> '' OR reference <> '');

-- The text a policy is registered from (program apply reads it from the
-- policy's file): policies_register_version records it as the first
-- version's body and clears it here, so the text is kept in one place, the
-- version.
ALTER TABLE policies ADD COLUMN registered_text text NOT NULL DEFAULT '';

CREATE OR REPLACE FUNCTION policies_register_version() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    m text[] := regexp_match(coalesce(NEW.version, ''), '^(\d{4})\.(\d+)$');
BEGIN
    IF NEW.version IS NOT NULL AND m IS NULL THEN
        RAISE EXCEPTION 'policy %: a registered version is YYYY.N, not %', NEW.id, NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.registered_text <> '' AND encode(sha256(convert_to(NEW.registered_text, 'UTF8')), 'hex') <> NEW.content_sha256 THEN
        RAISE EXCEPTION 'policy %: the text it is registered from does not have its SHA-256 %', NEW.id, NEW.content_sha256
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO policy_versions (policy_id, year, seq, kind, summary, body, reference, content_sha256, published_by, published_at)
    VALUES (NEW.id, coalesce(m[1]::int, extract(year FROM NEW.created_at AT TIME ZONE 'UTC')::int), coalesce(m[2]::int, 1),
            'material', 'registered from the program file', NEW.registered_text, NEW.source, NEW.content_sha256,
            'program', NEW.created_at);
    IF NEW.registered_text <> '' THEN
        UPDATE policies SET registered_text = '' WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- Only a registration sets it; it is cleared as the first version takes it.
CREATE FUNCTION policies_registered_text_guard() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.registered_text <> '' THEN
        RAISE EXCEPTION 'policy %: its text is recorded only when it is registered; a change request publishes a new one', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER policies_registered_text_guard BEFORE UPDATE OF registered_text ON policies
    FOR EACH ROW EXECUTE FUNCTION policies_registered_text_guard();
