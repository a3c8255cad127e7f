-- Deprecation is the program file's to give and take back (program apply).
-- A change request opened before its policy was deprecated still publishes
-- its version on record, but the policy stays deprecated: before, publishing
-- set it back to 'published' until the next apply.
CREATE OR REPLACE FUNCTION policy_versions_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE policies SET version = NEW.year::text || '.' || NEW.seq::text, revision = NEW.revision,
        status = CASE WHEN status = 'deprecated' THEN 'deprecated' ELSE 'published' END,
        content_sha256 = NEW.content_sha256, published_at = NEW.published_at, updated_at = now()
        WHERE id = NEW.policy_id;
    RETURN NULL;
END
$$;
