-- The policy version a change request is reviewed against: set when it is
-- opened and again at each resubmission. Publishing refuses a request whose
-- base is no longer the version in effect, so two requests on one policy
-- cannot undo each other. NULL: opened before this column existed (not checked).
ALTER TABLE change_requests ADD COLUMN base_version text;
