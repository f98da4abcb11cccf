-- The alert checks' cursor and revert jobs' leases live in the database,
-- as on PostgreSQL (its migration 0010), so the engine keeps one way of
-- doing both whichever store it runs on.

-- The alert checks of each account: the last execution seen, the flows over
-- their failure threshold, and the lease of the check being made.
CREATE TABLE alert_checks (
    account_id     INTEGER PRIMARY KEY,
    last_execution INTEGER NOT NULL DEFAULT 0,
    failing        TEXT    NOT NULL DEFAULT '[]', -- JSON array of flow ids
    checked_at     INTEGER NOT NULL DEFAULT 0,
    lease_token    INTEGER NOT NULL DEFAULT 0,
    lease_until    INTEGER NOT NULL DEFAULT 0
);

-- A revert job runs in the engine that holds its lease.
ALTER TABLE revert_jobs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE revert_jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
