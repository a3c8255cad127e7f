-- A member's clarification may ask for another change to a policy they
-- already asked to change in the same round; that is a second change
-- request and must be a second row (0004's key dropped it). clarify numbers
-- the member's answers within the round (0: the review task itself), so a
-- retried write of the same answer still writes once.
ALTER TABLE policy_review_items ADD COLUMN clarify integer NOT NULL DEFAULT 0 CHECK (clarify >= 0);
ALTER TABLE policy_review_items DROP CONSTRAINT policy_review_items_pkey;
ALTER TABLE policy_review_items ADD PRIMARY KEY (review_id, round, reviewer_id, clarify, policy_id);

-- The officer's rejection of a sign-off, which sends the review back for
-- another round: who rejected it, when, and why. One per round at most.
CREATE TABLE policy_review_rejections (
    review_id    text NOT NULL REFERENCES policy_reviews (id),
    round        integer NOT NULL,
    task_id      text NOT NULL DEFAULT '',
    rejected_by  text NOT NULL REFERENCES people (id),
    note         text NOT NULL DEFAULT '',
    rejected_at  timestamptz NOT NULL,
    PRIMARY KEY (review_id, round)
);

GRANT SELECT, INSERT ON policy_review_rejections TO complyflow_app;
