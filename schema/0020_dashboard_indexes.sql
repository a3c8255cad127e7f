-- Indexes for the officer's dashboard (issue 15 item 6: pages within 200 ms
-- with 10,000 people and 100,000 tasks; BenchmarkDashboard in portal/).

-- Open tasks by process (the process filter, and the counts per process),
-- in the list's order. parent_ref is included so the counts can read the
-- index alone.
CREATE INDEX tasks_open_process_idx ON tasks (split_part(parent_ref, '/', 1), due_at, id) INCLUDE (parent_ref)
    WHERE status = 'open';

-- Open tasks of one parent workflow (an annual review run's open tasks).
CREATE INDEX tasks_open_parent_idx ON tasks (parent_ref) WHERE status = 'open';

-- Pending campaign assignments in the list's order (the keyset of the
-- open-items list), instead of a sort of every pending one per page.
CREATE INDEX assignments_pending_due_idx ON assignments (due_at, campaign_id, person_id) WHERE status = 'pending';

-- Tasks escalated at least once, for the escalated counts.
CREATE INDEX task_events_escalated_idx ON task_events (task_id) WHERE event_key = 'escalated/1';
