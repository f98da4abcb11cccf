-- Owners, their users and teams (HubSpot's owners API), and the pipelines
-- of deals and tickets with their stages.

-- id_sequences hands out the ids of owners, users, teams and pipelines,
-- which HubSpot numbers globally and in ranges of their own, so an owner
-- id and a user id never look alike.
CREATE TABLE id_sequences (
    name TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
INSERT INTO id_sequences (name, next) VALUES
    ('owners', 10000001), ('users', 1000001), ('teams', 100001), ('pipelines', 100000001);

CREATE TABLE owners (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    user_id     INTEGER NOT NULL UNIQUE,
    email       TEXT    NOT NULL,
    first_name  TEXT    NOT NULL DEFAULT '',
    last_name   TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    archived    INTEGER NOT NULL DEFAULT 0,
    archived_at INTEGER
);
-- A live owner's email is unique in its account, case-insensitively.
CREATE UNIQUE INDEX owners_email ON owners (account_id, lower(email)) WHERE archived = 0;

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

-- owner_teams lists an owner's teams; position 0 is the primary team.
CREATE TABLE owner_teams (
    owner_id INTEGER NOT NULL REFERENCES owners (id),
    team_id  INTEGER NOT NULL REFERENCES teams (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (owner_id, team_id)
);

-- Pipelines of an account. An account with no row for a type has
-- HubSpot's default pipeline of that type (spoke.DefaultPipelines); the
-- first change writes the defaults here, then applies the change.
CREATE TABLE pipelines (
    account_id    INTEGER NOT NULL,
    object_type   TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    display_order INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    archived      INTEGER NOT NULL DEFAULT 0,
    archived_at   INTEGER,
    PRIMARY KEY (account_id, object_type, id)
);

-- Stage ids are unique across an object type's pipelines, as on HubSpot,
-- so a record's stage names its pipeline.
CREATE TABLE pipeline_stages (
    account_id    INTEGER NOT NULL,
    object_type   TEXT    NOT NULL,
    pipeline_id   TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    display_order INTEGER NOT NULL,
    metadata      TEXT    NOT NULL, -- JSON object of strings
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    archived      INTEGER NOT NULL DEFAULT 0,
    archived_at   INTEGER,
    PRIMARY KEY (account_id, object_type, id)
);
