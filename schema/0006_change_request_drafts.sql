-- A change request made in the portal waits here until the person it names
-- confirms it from the link emailed to them. The portal has no sign-in, so
-- that link is what shows the request is theirs; only then is the
-- PolicyChangeRequest started (request_id) and recorded as theirs.
CREATE TABLE change_request_drafts (
    id                      text PRIMARY KEY,
    policy_id               text NOT NULL REFERENCES policies (id),
    kind                    text NOT NULL CHECK (kind IN ('material', 'minor')),
    summary                 text NOT NULL CHECK (summary <> ''),
    body                    text NOT NULL DEFAULT '',
    reference               text NOT NULL DEFAULT '',
    needs_production_change boolean NOT NULL DEFAULT false,
    requester_id            text NOT NULL REFERENCES people (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    request_id              text,
    confirmed_at            timestamptz,
    CHECK ((request_id IS NULL) = (confirmed_at IS NULL))
);

GRANT SELECT, INSERT ON change_request_drafts TO complyflow_app;
GRANT UPDATE (request_id, confirmed_at) ON change_request_drafts TO complyflow_app;
