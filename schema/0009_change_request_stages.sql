-- A change request whose version is published is 'announcing' until everyone
-- has been told: the announcement is retried (for as long as a mail
-- misconfiguration lasts) after the version is in effect, and the records
-- must not call the request done before it is.
ALTER TABLE change_requests DROP CONSTRAINT change_requests_status_check;
ALTER TABLE change_requests ADD CONSTRAINT change_requests_status_check CHECK (status IN (
    'in-review', 'returned', 'awaiting-second-approval', 'awaiting-engineering-approval', 'awaiting-production-change',
    'approved', 'announcing', 'published', 'withdrawn'));
