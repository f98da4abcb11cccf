-- Spoke's schema on PostgreSQL: the same tables and columns as the SQLite
-- store (the conformance suite reads some of them directly), with
-- PostgreSQL's types. Times are epoch milliseconds, as on SQLite, so both
-- drivers share the engine's arithmetic; record properties are jsonb.

-- spoke_num reads a number property's stored text as a number. Values are
-- normalised numbers on write, but a property whose type changed to number
-- keeps its older values: those read as 0, as SQLite's CAST reads them, instead
-- of failing the query (or the value index's creation).
CREATE FUNCTION spoke_num(v text) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$' THEN v::float8 ELSE 0 END
$$;

CREATE TABLE accounts (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id         BIGSERIAL PRIMARY KEY,
    account_id BIGINT  NOT NULL REFERENCES accounts (id),
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE, -- hex SHA-256 of the secret
    scopes     TEXT    NOT NULL,        -- comma-separated
    admin      BOOLEAN NOT NULL DEFAULT false,
    created_at BIGINT  NOT NULL
);

-- CRM records of every object type; property values are one jsonb object
-- of strings, the computed properties are columns.
CREATE TABLE records (
    id           BIGSERIAL PRIMARY KEY,
    account_id   BIGINT  NOT NULL,
    object_type  TEXT    NOT NULL,
    unique_value TEXT,              -- lower-cased value of the type's unique property (contacts: email)
    properties   JSONB   NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    archived     BOOLEAN NOT NULL DEFAULT false,
    archived_at  BIGINT,
    version      BIGINT  NOT NULL DEFAULT 1,
    merged_into  BIGINT
);
CREATE INDEX records_by_type ON records (account_id, object_type, archived, id);
CREATE UNIQUE INDEX records_unique_value ON records (account_id, object_type, unique_value)
    WHERE unique_value IS NOT NULL AND NOT archived;
-- Search: the GIN index serves HAS_PROPERTY (properties ? name) and
-- containment (properties @> {name: value}) on every property at once.
CREATE INDEX records_properties ON records USING gin (properties);

-- Every write of every record: the values it set (jsonb; "" means cleared).
CREATE TABLE property_history (
    id            BIGSERIAL PRIMARY KEY,
    record_id     BIGINT NOT NULL,
    ts            BIGINT NOT NULL,
    source_type   TEXT   NOT NULL,
    source_id     TEXT   NOT NULL DEFAULT '',
    enrollment_id TEXT   NOT NULL DEFAULT '',
    changes       JSONB  NOT NULL
);
CREATE INDEX property_history_by_record ON property_history (record_id);

CREATE TABLE properties (
    account_id  BIGINT  NOT NULL,
    object_type TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    definition  JSONB   NOT NULL, -- spoke.Property
    archived    BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (account_id, object_type, name)
);

CREATE TABLE property_groups (
    account_id    BIGINT  NOT NULL,
    object_type   TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    display_order INTEGER NOT NULL DEFAULT -1,
    archived      BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (account_id, object_type, name)
);

CREATE TABLE associations (
    account_id BIGINT  NOT NULL,
    from_id    BIGINT  NOT NULL,
    to_type    TEXT    NOT NULL,
    to_id      BIGINT  NOT NULL,
    category   TEXT    NOT NULL,
    type_id    INTEGER NOT NULL,
    label      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (from_id, to_type, to_id, category, type_id)
);
CREATE INDEX associations_to ON associations (to_id);

CREATE TABLE flows (
    id             BIGSERIAL PRIMARY KEY,
    account_id     BIGINT  NOT NULL,
    revision       INTEGER NOT NULL,
    object_type_id TEXT    NOT NULL,
    enabled        BOOLEAN NOT NULL DEFAULT false,
    deleted        BOOLEAN NOT NULL DEFAULT false,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    deleted_at     BIGINT
);
CREATE INDEX flows_by_account ON flows (account_id, deleted, id);
CREATE INDEX flows_enabled ON flows (account_id, object_type_id, enabled) WHERE NOT deleted;

CREATE TABLE flow_revisions (
    flow_id    BIGINT  NOT NULL REFERENCES flows (id),
    revision   INTEGER NOT NULL,
    document   TEXT    NOT NULL, -- JSON as stored (flow.Parse's Raw), byte for byte
    created_at BIGINT  NOT NULL,
    author     TEXT    NOT NULL DEFAULT '', -- who saved it and why (spoke.SaveInfo)
    message    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (flow_id, revision)
);

CREATE TABLE secrets (
    account_id BIGINT NOT NULL,
    name       TEXT   NOT NULL,
    value      BYTEA  NOT NULL, -- AES-256-GCM: nonce || ciphertext
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- The engine's queue: an ACTIVE row is due at run_at and leased by the
-- claim whose token it carries until lease_until.
CREATE TABLE enrollments (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT  NOT NULL,
    flow_id          TEXT    NOT NULL,
    revision_id      TEXT    NOT NULL,
    object_type      TEXT    NOT NULL,
    object_id        BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    current_action   TEXT    NOT NULL DEFAULT '',
    outputs          TEXT    NOT NULL DEFAULT '{}',
    run_at           BIGINT  NOT NULL,
    wait_reason      TEXT    NOT NULL DEFAULT '',
    attempt          INTEGER NOT NULL DEFAULT 1,
    first_failure_at BIGINT  NOT NULL DEFAULT 0,
    error            TEXT,
    lease_until      BIGINT  NOT NULL DEFAULT 0,
    lease_token      BIGINT  NOT NULL DEFAULT 0,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    completed_at     BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX enrollments_due ON enrollments (run_at, id) WHERE status = 'ACTIVE';
CREATE INDEX enrollments_by_flow_object ON enrollments (flow_id, object_id);
CREATE INDEX enrollments_by_flow ON enrollments (account_id, flow_id, id);
CREATE INDEX enrollments_by_object ON enrollments (object_id);

CREATE TABLE executions (
    id            BIGSERIAL PRIMARY KEY,
    enrollment_id BIGINT           NOT NULL,
    account_id    BIGINT           NOT NULL,
    flow_id       TEXT             NOT NULL,
    object_id     BIGINT           NOT NULL,
    action_id     TEXT             NOT NULL,
    action_type   TEXT             NOT NULL,
    attempt       INTEGER          NOT NULL,
    status        TEXT             NOT NULL,
    started_at    BIGINT           NOT NULL,
    duration_ms   DOUBLE PRECISION NOT NULL,
    memory_bytes  BIGINT           NOT NULL DEFAULT 0,
    inputs        TEXT,
    outputs       TEXT,
    logs          TEXT             NOT NULL DEFAULT '',
    error         TEXT,
    runtime       TEXT             NOT NULL DEFAULT ''
);
CREATE INDEX executions_by_flow ON executions (account_id, flow_id, id);
CREATE INDEX executions_by_object ON executions (object_id);

CREATE TABLE code_usage (
    account_id BIGINT NOT NULL,
    period     TEXT   NOT NULL,
    executions BIGINT NOT NULL,
    PRIMARY KEY (account_id, period)
);
CREATE TABLE code_limits (
    account_id BIGINT PRIMARY KEY,
    monthly    BIGINT NOT NULL -- -1 means unlimited
);
