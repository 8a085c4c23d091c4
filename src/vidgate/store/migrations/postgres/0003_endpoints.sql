-- Every job is bound to the endpoint it was created for ("provider base_url credentials_ref"): workers claim
-- only the jobs of endpoints they are configured for. Jobs from before belong to their provider.

ALTER TABLE jobs ADD COLUMN endpoint text;
UPDATE jobs SET endpoint = provider WHERE endpoint IS NULL;
CREATE INDEX jobs_endpoint_due_idx ON jobs (endpoint, next_poll_at) WHERE next_poll_at IS NOT NULL;
