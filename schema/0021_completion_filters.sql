-- The auditors' person filter (issue 16 item 3: records by "framework,
-- control, process, person, period"). A person's records of one control are
-- one ordered range of this index, as a control's records are of
-- audit_log_control_at_idx (schema/0018), so a keyset page by person stays a
-- merge of index ranges that stops at the page's size, however rare the
-- person's rows are among the control's (completion.pageSQL;
-- BenchmarkRecordQuery1M/page10-person). The process filter needs none: it
-- narrows the controls, not the rows.
CREATE INDEX audit_log_actor_control_at_idx ON audit_log (actor, control_id, at, id) WHERE control_id <> '';
