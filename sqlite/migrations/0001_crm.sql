-- Accounts (HubSpot portals) and their access tokens.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE, -- hex SHA-256 of the secret
    scopes     TEXT    NOT NULL,        -- comma-separated
    admin      INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- CRM records of every object type. Property values are a JSON object of
-- strings; the computed properties live in their own columns.
CREATE TABLE records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL,
    object_type  TEXT    NOT NULL,
    unique_value TEXT,              -- lower-cased value of the type's unique property (contacts: email)
    properties   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,  -- epoch ms
    updated_at   INTEGER NOT NULL,
    archived     INTEGER NOT NULL DEFAULT 0,
    archived_at  INTEGER
);
CREATE INDEX records_by_type ON records (account_id, object_type, archived, id);
CREATE UNIQUE INDEX records_unique_value ON records (account_id, object_type, unique_value)
    WHERE unique_value IS NOT NULL AND archived = 0;

-- Every write of every record: when, by whom, and the values it set
-- (a JSON object; "" means cleared). One row per write keeps bulk writes
-- cheap; readers expand it per property.
CREATE TABLE property_history (
    id            INTEGER PRIMARY KEY, -- order of writes
    record_id     INTEGER NOT NULL,
    ts            INTEGER NOT NULL,    -- epoch ms
    source_type   TEXT    NOT NULL,
    source_id     TEXT    NOT NULL DEFAULT '',
    enrollment_id TEXT    NOT NULL DEFAULT '',
    changes       TEXT    NOT NULL
);
CREATE INDEX property_history_by_record ON property_history (record_id);

-- Custom property definitions (HubSpot-defined ones are built in).
CREATE TABLE properties (
    account_id  INTEGER NOT NULL,
    object_type TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    definition  TEXT    NOT NULL, -- JSON of spoke.Property
    archived    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, object_type, name)
);

CREATE TABLE property_groups (
    account_id    INTEGER NOT NULL,
    object_type   TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    display_order INTEGER NOT NULL DEFAULT -1,
    archived      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, object_type, name)
);

-- Associations are stored once per direction.
CREATE TABLE associations (
    account_id INTEGER NOT NULL,
    from_id    INTEGER NOT NULL,
    to_type    TEXT    NOT NULL,
    to_id      INTEGER NOT NULL,
    category   TEXT    NOT NULL,
    type_id    INTEGER NOT NULL,
    label      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (from_id, to_type, to_id, category, type_id)
) WITHOUT ROWID;
