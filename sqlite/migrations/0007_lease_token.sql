-- lease_token names the claim that leases an enrollment: a runner commits
-- an enrollment only while the row still carries its token, so a runner
-- whose lease ended and was claimed again cannot commit it a second time.
ALTER TABLE enrollments ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
