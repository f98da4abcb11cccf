-- Secrets for custom code, encrypted with AES-256-GCM (nonce || ciphertext).
CREATE TABLE secrets (
    account_id INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- Enrollments are the engine's durable queue: an ACTIVE row is due at
-- run_at and is leased by a runner until lease_until.
CREATE TABLE enrollments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL,
    flow_id          TEXT    NOT NULL,
    revision_id      TEXT    NOT NULL,
    object_type      TEXT    NOT NULL,
    object_id        INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    current_action   TEXT    NOT NULL DEFAULT '',
    outputs          TEXT    NOT NULL DEFAULT '{}',
    run_at           INTEGER NOT NULL,
    wait_reason      TEXT    NOT NULL DEFAULT '',
    attempt          INTEGER NOT NULL DEFAULT 1,
    first_failure_at INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    completed_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX enrollments_due ON enrollments (run_at, id) WHERE status = 'ACTIVE';
CREATE INDEX enrollments_by_flow_object ON enrollments (flow_id, object_id);
CREATE INDEX enrollments_by_flow ON enrollments (account_id, flow_id, id);

-- One row per action run: the execution log.
CREATE TABLE executions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    enrollment_id INTEGER NOT NULL,
    account_id    INTEGER NOT NULL,
    flow_id       TEXT    NOT NULL,
    object_id     INTEGER NOT NULL,
    action_id     TEXT    NOT NULL,
    action_type   TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    duration_ms   REAL    NOT NULL,
    memory_bytes  INTEGER NOT NULL DEFAULT 0,
    inputs        TEXT,
    outputs       TEXT,
    logs          TEXT    NOT NULL DEFAULT '',
    error         TEXT,
    runtime       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX executions_by_flow ON executions (account_id, flow_id, id);

-- Custom code executions per account and month, and the monthly limit.
CREATE TABLE code_usage (
    account_id INTEGER NOT NULL,
    period     TEXT    NOT NULL,
    executions INTEGER NOT NULL,
    PRIMARY KEY (account_id, period)
);
CREATE TABLE code_limits (
    account_id INTEGER PRIMARY KEY,
    monthly    INTEGER NOT NULL -- -1 means unlimited
);
