-- Staged rollouts and retention, as on SQLite (its migrations 0011 and
-- 0012); see docs/engine.md "Staged rollouts" and docs/store.md
-- "Retention".

-- A flow's staged rollouts; the latest row of a flow is its current one.
-- While it holds (RUNNING, AWAITING_APPROVAL, HALTED) the flow's new
-- enrollments are inserted HELD and released stage by stage.
CREATE TABLE rollouts (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT  NOT NULL,
    flow_id          TEXT    NOT NULL,
    revision_id      TEXT    NOT NULL,
    config           TEXT    NOT NULL,           -- JSON of spoke.RolloutConfig
    stage            INTEGER NOT NULL DEFAULT 0, -- index into config.stages
    state            TEXT    NOT NULL,
    started_at       BIGINT  NOT NULL,
    stage_started_at BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX rollouts_by_flow ON rollouts (flow_id, id);
CREATE INDEX rollouts_holding ON rollouts (flow_id) WHERE state IN ('RUNNING', 'AWAITING_APPROVAL', 'HALTED');

-- The enrollments each stage released.
CREATE TABLE rollout_enrollments (
    rollout_id    BIGINT  NOT NULL,
    stage         INTEGER NOT NULL,
    enrollment_id BIGINT  NOT NULL,
    PRIMARY KEY (rollout_id, stage, enrollment_id)
);

-- A flow's held enrollments, oldest first, for ReleaseHeld and the
-- stage counts.
CREATE INDEX enrollments_held ON enrollments (account_id, flow_id, id) WHERE status = 'HELD';

-- Retention per account (NULL: the server's default) and rows pruned.
CREATE TABLE retention_settings (
    account_id   BIGINT PRIMARY KEY,
    days         INTEGER,
    failed_days  INTEGER,
    max_per_flow INTEGER
);
CREATE TABLE prune_totals (
    name TEXT   PRIMARY KEY, -- table
    rows BIGINT NOT NULL
);
-- Flows whose runs must not be pruned while something still needs them;
-- see DB.HoldRetention.
CREATE TABLE retention_holds (
    flow_id    TEXT   NOT NULL,
    reason     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (flow_id, reason)
);
-- Finished enrollments by completion time, for pruning.
CREATE INDEX enrollments_finished ON enrollments (account_id, completed_at) WHERE status NOT IN ('ACTIVE', 'HELD');

-- The executions pruning deleted, counted per flow and minute in the
-- transaction that deleted them, so the runs views and the usage chart
-- still count them (SQLite keeps such counts for every execution; here
-- the live rows are counted where they are, and only the pruned ones
-- here). Kept 90 days, as on SQLite.
CREATE TABLE pruned_execution_counts (
    account_id BIGINT NOT NULL,
    flow_id    TEXT   NOT NULL,
    minute     BIGINT NOT NULL, -- epoch ms / 60000 of started_at
    executions BIGINT NOT NULL,
    failures   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL, -- latest started_at in the minute
    PRIMARY KEY (account_id, flow_id, minute)
);
CREATE INDEX pruned_execution_counts_by_minute ON pruned_execution_counts (minute);
