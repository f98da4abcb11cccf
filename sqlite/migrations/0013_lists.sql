-- CRM lists (HubSpot's lists v3): MANUAL (static) and SNAPSHOT lists keep
-- their members in list_memberships; a DYNAMIC list's members are the
-- records that meet its filter_branch, evaluated when asked.
CREATE TABLE lists (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL,
    name               TEXT    NOT NULL,
    object_type_id     TEXT    NOT NULL,
    object_type        TEXT    NOT NULL, -- the name records are stored under
    processing_type    TEXT    NOT NULL,
    filter_branch      TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    filters_updated_at INTEGER,
    deleted_at         INTEGER
);
-- A live list's name is unique in its account, case-insensitively.
CREATE UNIQUE INDEX lists_name ON lists (account_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE list_memberships (
    list_id        INTEGER NOT NULL,
    object_id      INTEGER NOT NULL,
    first_added_at INTEGER NOT NULL,
    added_at       INTEGER NOT NULL,
    PRIMARY KEY (list_id, object_id)
) WITHOUT ROWID;
CREATE INDEX list_memberships_object ON list_memberships (object_id);

-- The event that enrolled a record in an EVENT_BASED flow, for
-- ENROLLMENT_EVENT_PROPERTY values.
CREATE TABLE enrollment_events (
    enrollment_id INTEGER PRIMARY KEY,
    event         TEXT NOT NULL
);

-- The secret token of a flow's inbound webhook.
CREATE TABLE flow_webhooks (
    flow_id    INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    token      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
