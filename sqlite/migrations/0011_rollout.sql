-- Safe change (issue 11): revision authors, staged rollouts, reverts of a
-- flow's writes and failure alerts.

-- Who saved each revision, and why.
ALTER TABLE flow_revisions ADD COLUMN author TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_revisions ADD COLUMN message TEXT NOT NULL DEFAULT '';

-- A flow's staged rollouts; the latest row of a flow is its current one.
-- While it holds (RUNNING, AWAITING_APPROVAL, HALTED) the flow's new
-- enrollments are inserted HELD and released stage by stage.
CREATE TABLE rollouts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL,
    flow_id          TEXT    NOT NULL,
    revision_id      TEXT    NOT NULL,
    config           TEXT    NOT NULL,           -- JSON of spoke.RolloutConfig
    stage            INTEGER NOT NULL DEFAULT 0, -- index into config.stages
    state            TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    stage_started_at INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX rollouts_by_flow ON rollouts (flow_id, id);
CREATE INDEX rollouts_holding ON rollouts (state) WHERE state IN ('RUNNING', 'AWAITING_APPROVAL', 'HALTED');

-- The enrollments each stage released.
CREATE TABLE rollout_enrollments (
    rollout_id    INTEGER NOT NULL,
    stage         INTEGER NOT NULL,
    enrollment_id INTEGER NOT NULL,
    PRIMARY KEY (rollout_id, stage, enrollment_id)
) WITHOUT ROWID;

-- A flow's writes by time, for reverts. Partial: only the engine's writes
-- are indexed.
CREATE INDEX property_history_by_flow ON property_history (source_id, ts) WHERE source_type = 'AUTOMATION_PLATFORM';

-- Revert jobs: durable, resumable from cursor (the last record id done,
-- committed with that record's writes).
CREATE TABLE revert_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL,
    flow_id     TEXT    NOT NULL,
    request     TEXT    NOT NULL,           -- JSON of spoke.RevertRequest
    status      TEXT    NOT NULL,           -- RUNNING, COMPLETE, FAILED
    cursor      INTEGER NOT NULL DEFAULT 0, -- records with ids up to cursor are done
    total       INTEGER NOT NULL DEFAULT 0, -- records the revert covers
    processed   INTEGER NOT NULL DEFAULT 0, -- records done so far
    reverted    INTEGER NOT NULL DEFAULT 0, -- property values put back
    records     INTEGER NOT NULL DEFAULT 0, -- records changed
    conflicts   INTEGER NOT NULL DEFAULT 0,
    sample      TEXT    NOT NULL DEFAULT '{}', -- JSON: first changes and conflicts
    error       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX revert_jobs_by_flow ON revert_jobs (account_id, flow_id, id);

-- The account's alert webhook and thresholds, and which quota levels were
-- announced this period (so a restart does not announce them again).
CREATE TABLE alert_settings (
    account_id        INTEGER PRIMARY KEY,
    url               TEXT    NOT NULL,
    failure_rate      REAL    NOT NULL,
    failure_window    INTEGER NOT NULL,
    quota_period      TEXT    NOT NULL DEFAULT '',
    quota_level       INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL
);
