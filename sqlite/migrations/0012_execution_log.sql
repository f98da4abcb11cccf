-- The compact execution log (docs/store.md, "Execution log"). What every
-- execution of one action of one flow shares (its id, type, runtime, and
-- the first inputs and outputs seen, against which later ones are stored
-- as differences) is kept once in execution_actions.
CREATE TABLE execution_actions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    flow_id     TEXT    NOT NULL,
    action_id   TEXT    NOT NULL,
    action_type TEXT    NOT NULL,
    runtime     TEXT    NOT NULL,
    inputs      TEXT,            -- template: JSON object, or NULL
    outputs     TEXT,
    UNIQUE (account_id, flow_id, action_id, action_type, runtime)
);

-- One row per committed step of an enrollment (up to 32 executions,
-- binary-encoded in body). An execution's id is the row's id times 32
-- plus its place in the row. flow_id has INTEGER affinity, so a numeric
-- flow id takes one to three bytes.
CREATE TABLE execution_steps (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    enrollment_id INTEGER NOT NULL,
    account_id    INTEGER NOT NULL,
    flow_id       INTEGER NOT NULL,
    object_id     INTEGER NOT NULL,
    started_at    INTEGER NOT NULL, -- epoch ms of the first execution
    failed        INTEGER NOT NULL DEFAULT 0, -- 1 if an execution is ERROR
    n             INTEGER NOT NULL DEFAULT 1, -- executions in body
    body          BLOB    NOT NULL
);
CREATE INDEX execution_steps_by_flow ON execution_steps (flow_id, id);

-- Executions and failures per flow and minute, for the runs views and the
-- usage chart: they outlive the logs (retention) and spare the log two
-- indexes by time.
CREATE TABLE execution_counts (
    account_id INTEGER NOT NULL,
    flow_id    TEXT    NOT NULL,
    minute     INTEGER NOT NULL, -- epoch ms / 60000 of started_at
    executions INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL, -- latest started_at in the minute
    PRIMARY KEY (account_id, flow_id, minute)
) WITHOUT ROWID;

INSERT INTO execution_counts (account_id, flow_id, minute, executions, failures, last_at)
    SELECT account_id, flow_id, started_at / 60000, count(*), sum(status = 'ERROR'), max(started_at)
    FROM executions GROUP BY 1, 2, 3;

-- The rows of the old log are converted to execution_steps at open, in
-- batches (sqlite/execlog.go), then this table is dropped.
DROP INDEX executions_by_flow_time;
DROP INDEX executions_by_time;
DROP INDEX executions_by_flow;
ALTER TABLE executions RENAME TO executions_v1;

-- Retention per account (NULL: the server's default) and rows pruned.
CREATE TABLE retention_settings (
    account_id         INTEGER PRIMARY KEY,
    days               INTEGER,
    failed_days        INTEGER,
    max_per_flow       INTEGER
);
CREATE TABLE prune_totals (
    name TEXT PRIMARY KEY, -- table
    rows INTEGER NOT NULL
);
-- Flows whose runs must not be pruned while something (a staged rollout,
-- a revert) still needs them; see DB.HoldRetention.
CREATE TABLE retention_holds (
    flow_id    TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (flow_id, reason)
);
-- Finished enrollments by completion time, for pruning.
CREATE INDEX enrollments_finished ON enrollments (completed_at) WHERE status <> 'ACTIVE';
