-- Completion records for auditors (issue 16, item 1): every audit-log row
-- written for a control is a record that evidences it (audit.Write writes one
-- row per control), so new processes appear here as soon as they audit with
-- their controls. The view adds what an auditor asks of each row: the channel
-- it came through, the policy versions in force (those the step names, else
-- those of the control's policies at the time) and the program version in
-- force (the newest `program apply` at or before the row).
--
-- The view is for auditors' own SQL. completion/ pages through audit_log by
-- (control_id, at, id), served by the index below (a page is one index range
-- per control, merged), and computes the view's columns in Go from the small
-- version tables; its tests hold the two to the same answers.
CREATE INDEX audit_log_control_at_idx ON audit_log (control_id, at, id) WHERE control_id <> '';

CREATE VIEW completion_records AS
SELECT l.id AS audit_id, l.at, l.control_id, l.actor, l.action, l.subject,
       coalesce(l.detail->>'channel', '') AS channel,
       coalesce(pol.versions, '') AS policy_versions,
       pv.id AS program_version, coalesce(pv.content_hash, '') AS program_hash,
       l.detail, l.hash
FROM audit_log l
LEFT JOIN LATERAL (
    SELECT p.id, p.content_hash FROM program_versions p
    WHERE p.applied_at <= l.at ORDER BY p.applied_at DESC, p.id DESC LIMIT 1
) pv ON true
LEFT JOIN LATERAL (
    SELECT CASE
        -- An acknowledgement names every policy it signed, with its version.
        WHEN jsonb_typeof(l.detail->'policies') = 'array' THEN
            (SELECT string_agg((e->>'policy') || ' ' || coalesce(e->>'version', ''), '; ' ORDER BY e->>'policy')
             FROM jsonb_array_elements(l.detail->'policies') e)
        -- A step about one policy: the version it names, else the one in force.
        WHEN l.detail->>'policy' IS NOT NULL THEN
            (l.detail->>'policy') || ' ' || coalesce(l.detail->>'version',
                (SELECT v.version FROM policy_versions v WHERE v.policy_id = l.detail->>'policy' AND v.published_at <= l.at
                 ORDER BY v.published_at DESC LIMIT 1), '')
        -- Otherwise the versions in force of the control's policies.
        ELSE
            (SELECT string_agg(cp.policy_id || ' ' || v.version, '; ' ORDER BY cp.policy_id)
             FROM control_policies cp
             JOIN LATERAL (SELECT v.version FROM policy_versions v WHERE v.policy_id = cp.policy_id AND v.published_at <= l.at
                           ORDER BY v.published_at DESC LIMIT 1) v ON true
             WHERE cp.control_id = l.control_id)
        END AS versions
) pol ON true
WHERE l.control_id <> '';

GRANT SELECT ON completion_records TO complyflow_app;
