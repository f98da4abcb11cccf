-- Workflows (automation v4 flows). One row per flow with its current
-- revision; every revision's whole document is kept in flow_revisions.
CREATE TABLE flows (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL,
    revision       INTEGER NOT NULL,           -- current revision
    object_type_id TEXT    NOT NULL,           -- "0-1", "0-2", ...
    enabled        INTEGER NOT NULL DEFAULT 0,
    deleted        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,           -- epoch ms
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER
);
CREATE INDEX flows_by_account ON flows (account_id, deleted, id);
CREATE INDEX flows_enabled ON flows (account_id, object_type_id, enabled) WHERE deleted = 0;

CREATE TABLE flow_revisions (
    flow_id    INTEGER NOT NULL REFERENCES flows (id),
    revision   INTEGER NOT NULL,
    document   TEXT    NOT NULL,               -- JSON as stored (flow.Parse's Raw)
    created_at INTEGER NOT NULL,               -- epoch ms: when this revision was saved
    PRIMARY KEY (flow_id, revision)
);
