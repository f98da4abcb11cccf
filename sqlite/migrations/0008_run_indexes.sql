-- Indexes for the web UI's run queries: counts by flow and status,
-- recent executions by flow and by day, and a record's enrollments.
CREATE INDEX enrollments_by_flow_status ON enrollments (account_id, flow_id, status);
CREATE INDEX enrollments_by_object ON enrollments (account_id, object_type, object_id, id);
CREATE INDEX executions_by_flow_time ON executions (account_id, flow_id, started_at, status);
CREATE INDEX executions_by_time ON executions (account_id, started_at, status);
