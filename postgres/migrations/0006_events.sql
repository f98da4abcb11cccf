-- Flows' events, as on SQLite (migration 0013): the event that enrolled a
-- record in an EVENT_BASED flow, for ENROLLMENT_EVENT_PROPERTY values, and
-- the secret token of a flow's inbound webhook.
CREATE TABLE enrollment_events (
    enrollment_id BIGINT PRIMARY KEY,
    event         TEXT   NOT NULL
);

CREATE TABLE flow_webhooks (
    flow_id    BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    token      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
