-- CRM lists, as on SQLite (migration 0013): MANUAL and SNAPSHOT lists keep
-- their members in list_memberships; a DYNAMIC list's members are the
-- records that meet its filter_branch, evaluated when asked.
CREATE TABLE lists (
    id                 BIGSERIAL PRIMARY KEY,
    account_id         BIGINT  NOT NULL,
    name               TEXT    NOT NULL,
    object_type_id     TEXT    NOT NULL,
    object_type        TEXT    NOT NULL, -- the name records are stored under
    processing_type    TEXT    NOT NULL,
    filter_branch      TEXT,             -- JSON as given
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    filters_updated_at BIGINT,
    deleted_at         BIGINT
);
-- A live list's name is unique in its account, case-insensitively.
CREATE UNIQUE INDEX lists_name ON lists (account_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE list_memberships (
    list_id        BIGINT NOT NULL,
    object_id      BIGINT NOT NULL,
    first_added_at BIGINT NOT NULL,
    added_at       BIGINT NOT NULL,
    PRIMARY KEY (list_id, object_id)
);
CREATE INDEX list_memberships_object ON list_memberships (object_id);
