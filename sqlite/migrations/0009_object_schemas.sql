-- Custom object schemas (HubSpot's /crm/v3/schemas). A schema's object type
-- id is "2-" || id; ids are never reused, so records, properties and
-- associations of a purged schema can never be taken for a new one's. The
-- name stays taken, archived or not, until the schema is purged.
-- definition holds the labels, description and the display, required and
-- searchable property lists (JSON). Association definitions are
-- association_labels rows with an empty label between the schema's type
-- and another.
CREATE TABLE object_schemas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    definition  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    archived    INTEGER NOT NULL DEFAULT 0,
    archived_at INTEGER
);
CREATE UNIQUE INDEX object_schemas_name ON object_schemas (account_id, name COLLATE NOCASE);
