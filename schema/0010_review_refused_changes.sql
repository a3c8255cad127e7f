-- A change a committee member asks for in an annual review that cannot be
-- opened as a change request (nobody but the member could review or approve
-- it, the member has left, the policy is deprecated) is recorded as
-- refused, with the reason in its note and no change request: before, it
-- was 'change-requested' naming a request that was never opened.
ALTER TABLE policy_review_items DROP CONSTRAINT policy_review_items_outcome_check;
ALTER TABLE policy_review_items ADD CONSTRAINT policy_review_items_outcome_check
    CHECK (outcome IN ('no-change', 'change-requested', 'change-refused'));
