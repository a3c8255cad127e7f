-- policies.version and its companions only ever mirror the version in effect
-- in policy_versions (the policy_versions triggers set them), so no update
-- can show a policy at a version that was never published there, or skip the
-- archive a material version needs.
CREATE FUNCTION policies_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.version, NEW.revision, NEW.published_at, NEW.content_sha256)
       IS NOT DISTINCT FROM (OLD.version, OLD.revision, OLD.published_at, OLD.content_sha256) THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM policy_versions v WHERE v.policy_id = NEW.id AND v.superseded_at IS NULL
                   AND v.year::text || '.' || v.seq::text = NEW.version AND v.revision = NEW.revision
                   AND v.published_at = NEW.published_at AND v.content_sha256 = NEW.content_sha256) THEN
        RAISE EXCEPTION 'policy %: its version is set only by publishing one in policy_versions', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER policies_version_guard BEFORE UPDATE ON policies
    FOR EACH ROW EXECUTE FUNCTION policies_version_guard();
