-- State that several processes share through the database (docs/scale.md):
-- the secret key's derivation parameters, the custom code quota's
-- reservations, actions' rate-limit windows, the alert checks' cursor, and
-- revert jobs' leases.

-- Secrets are encrypted under a key derived from the operator's key, as on
-- SQLite (its migration 0014). Rows written before keep key_version 1 (AES
-- key = SHA-256 of SPOKE_SECRET_KEY) until a start with this version
-- re-encrypts them as key_version 2; the default stays 1 so that a row an
-- older process writes meanwhile is known for what it is.
ALTER TABLE secrets ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1;

-- The scrypt salt and a check value of the derived key: a process started
-- with another key is refused. Neither is secret.
CREATE TABLE secret_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    salt        BYTEA NOT NULL,
    kdf         TEXT  NOT NULL,
    check_value BYTEA NOT NULL
);

-- Custom code units an engine (holder) reserved against an account's
-- monthly limit and has not committed yet: a reservation is granted only
-- while the period's count plus every unexpired reservation stays within
-- the limit, a commit moves units from its holder's row to code_usage in
-- one transaction, and a dead process's row stops counting at expires_at.
CREATE TABLE code_reservations (
    account_id BIGINT NOT NULL,
    holder     BIGINT NOT NULL,
    units      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, holder)
);
CREATE INDEX code_reservations_by_holder ON code_reservations (holder);

-- Actions' rate limits: the executions used in the current fixed window.
CREATE TABLE rate_windows (
    account_id   BIGINT  NOT NULL,
    flow_id      TEXT    NOT NULL,
    action_id    TEXT    NOT NULL,
    window_start BIGINT  NOT NULL,
    used         INTEGER NOT NULL,
    PRIMARY KEY (account_id, flow_id, action_id)
);

-- The alert checks of each account: the last execution seen, the flows over
-- their failure threshold, and the lease of the process checking now, so
-- one process checks each execution once.
CREATE TABLE alert_checks (
    account_id     BIGINT PRIMARY KEY,
    last_execution BIGINT NOT NULL DEFAULT 0,
    failing        TEXT   NOT NULL DEFAULT '[]', -- JSON array of flow ids
    checked_at     BIGINT NOT NULL DEFAULT 0,
    lease_token    BIGINT NOT NULL DEFAULT 0,
    lease_until    BIGINT NOT NULL DEFAULT 0
);

-- A revert job runs in the engine that holds its lease; any engine claims a
-- job that is not leased or whose lease ended.
ALTER TABLE revert_jobs ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE revert_jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX revert_jobs_running ON revert_jobs (id) WHERE status = 'RUNNING';
