-- version counts a record's writes, so that a writer holding a copy read
-- earlier (the engine's round) can update it only if nothing wrote it since.
ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
