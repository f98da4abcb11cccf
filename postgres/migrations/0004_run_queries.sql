-- The web UI's run queries (RunStore): recent and daily execution counts
-- of a flow and an account read executions by start time.
CREATE INDEX executions_by_flow_start ON executions (account_id, flow_id, started_at);
CREATE INDEX executions_by_start ON executions (account_id, started_at);
