-- Owners, their users and teams, pipelines with their stages, and custom
-- object schemas: the same tables as SQLite's 0009 and 0010.

-- Owner, user, team and pipeline ids, which HubSpot numbers globally and in
-- ranges of their own, so an owner id and a user id never look alike.
CREATE SEQUENCE owners_id_seq START 10000001;
CREATE SEQUENCE users_id_seq START 1000001;
CREATE SEQUENCE teams_id_seq START 100001;
CREATE SEQUENCE pipelines_id_seq START 100000001;

CREATE TABLE owners (
    id          BIGINT  PRIMARY KEY,
    account_id  BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL UNIQUE,
    email       TEXT    NOT NULL,
    first_name  TEXT    NOT NULL DEFAULT '',
    last_name   TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    archived    BOOLEAN NOT NULL DEFAULT false,
    archived_at BIGINT
);
-- A live owner's email is unique in its account, case-insensitively.
CREATE UNIQUE INDEX owners_email ON owners (account_id, lower(email)) WHERE NOT archived;

CREATE TABLE teams (
    id         BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, name)
);

-- owner_teams lists an owner's teams; position 0 is the primary team.
CREATE TABLE owner_teams (
    owner_id BIGINT  NOT NULL REFERENCES owners (id),
    team_id  BIGINT  NOT NULL REFERENCES teams (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (owner_id, team_id)
);

-- Pipelines of an account. An account with no row for a type has
-- HubSpot's default pipeline of that type (spoke.DefaultPipelines); the
-- first change writes the defaults here, then applies the change.
CREATE TABLE pipelines (
    account_id    BIGINT  NOT NULL,
    object_type   TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    display_order INTEGER NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    archived      BOOLEAN NOT NULL DEFAULT false,
    archived_at   BIGINT,
    PRIMARY KEY (account_id, object_type, id)
);

-- Stage ids are unique across an object type's pipelines, as on HubSpot,
-- so a record's stage names its pipeline.
CREATE TABLE pipeline_stages (
    account_id    BIGINT  NOT NULL,
    object_type   TEXT    NOT NULL,
    pipeline_id   TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    display_order INTEGER NOT NULL,
    metadata      JSONB   NOT NULL, -- object of strings
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    archived      BOOLEAN NOT NULL DEFAULT false,
    archived_at   BIGINT,
    PRIMARY KEY (account_id, object_type, id)
);

-- Custom object schemas. A schema's object type id is "2-" || id; ids are
-- never reused. The name stays taken, archived or not, until the schema is
-- purged. Association definitions are association_labels rows with an
-- empty label between the schema's type and another.
CREATE TABLE object_schemas (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT  NOT NULL,
    name        TEXT    NOT NULL,
    definition  JSONB   NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    archived    BOOLEAN NOT NULL DEFAULT false,
    archived_at BIGINT
);
CREATE UNIQUE INDEX object_schemas_name ON object_schemas (account_id, lower(name));
