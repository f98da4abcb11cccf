-- User-defined association labels between two object types. A label's
-- type id serves both directions: from_type to to_type reads label, the
-- reverse reads inverse_label (or label when there is none).
CREATE TABLE association_labels (
    type_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL,
    from_type     TEXT    NOT NULL,
    to_type       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    inverse_label TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX association_labels_name ON association_labels (account_id, from_type, to_type, name);
