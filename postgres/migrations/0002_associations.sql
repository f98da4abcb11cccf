-- User-defined association labels between two object types, as on SQLite
-- (sqlite/migrations/0005): a label's type id serves both directions,
-- from_type to to_type reads label, the reverse reads inverse_label (or
-- label when there is none). A custom object schema's association
-- definitions are rows with an empty label.
CREATE TABLE association_labels (
    type_id       SERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL,
    from_type     TEXT   NOT NULL,
    to_type       TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    label         TEXT   NOT NULL,
    inverse_label TEXT   NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX association_labels_name ON association_labels (account_id, from_type, to_type, name);
-- The counts and label deletes read links by type.
CREATE INDEX associations_by_type ON associations (account_id, category, type_id);
