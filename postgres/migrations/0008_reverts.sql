-- Reverts of flows' writes, as on SQLite (migration 0011): the writes to
-- undo are found in property history by source and time, and a revert job
-- is durable, resumable from its cursor (the last record id done,
-- committed with that record's writes).
CREATE INDEX property_history_by_flow ON property_history (source_id, ts) WHERE source_type = 'AUTOMATION_PLATFORM';

CREATE TABLE revert_jobs (
    id         BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    flow_id    TEXT   NOT NULL,
    request    TEXT   NOT NULL,           -- JSON of spoke.RevertRequest
    status     TEXT   NOT NULL,           -- RUNNING, COMPLETE, FAILED
    cursor     BIGINT NOT NULL DEFAULT 0, -- records with ids up to cursor are done
    total      BIGINT NOT NULL DEFAULT 0, -- records the revert covers
    processed  BIGINT NOT NULL DEFAULT 0, -- records done so far
    reverted   BIGINT NOT NULL DEFAULT 0, -- property values put back
    records    BIGINT NOT NULL DEFAULT 0, -- records changed
    conflicts  BIGINT NOT NULL DEFAULT 0,
    sample     TEXT   NOT NULL DEFAULT '{}', -- JSON: first changes and conflicts
    error      TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX revert_jobs_by_flow ON revert_jobs (account_id, flow_id, id);
