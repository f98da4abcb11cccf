-- The account's alert webhook and thresholds, and which quota levels were
-- announced this period (so a restart does not announce them again), as
-- on SQLite (migration 0011).
CREATE TABLE alert_settings (
    account_id     BIGINT           PRIMARY KEY,
    url            TEXT             NOT NULL,
    failure_rate   DOUBLE PRECISION NOT NULL,
    failure_window INTEGER          NOT NULL,
    quota_period   TEXT             NOT NULL DEFAULT '',
    quota_level    INTEGER          NOT NULL DEFAULT 0,
    updated_at     BIGINT           NOT NULL
);
