-- Jobs: one JSON document per job plus the columns queries filter on.
-- data is json (not jsonb): it keeps the document's exact text and accepts \u0000 in provider bodies.
CREATE TABLE jobs (
    id               text PRIMARY KEY,
    idempotency_key  text UNIQUE,
    provider         text NOT NULL,
    model            text NOT NULL,
    status           text NOT NULL,
    raw_status       text,
    provider_task_id text,
    next_poll_at     timestamptz,
    lease_owner      text,
    lease_until      timestamptz,
    version          bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    data             json NOT NULL
);

CREATE INDEX jobs_due_idx ON jobs (next_poll_at, id) WHERE next_poll_at IS NOT NULL;
CREATE INDEX jobs_created_idx ON jobs (created_at, id);
CREATE INDEX jobs_status_idx ON jobs (status, updated_at);
CREATE INDEX jobs_provider_idx ON jobs (provider, created_at);
CREATE INDEX jobs_model_idx ON jobs (model, created_at);
CREATE INDEX jobs_provider_task_idx ON jobs (provider, provider_task_id) WHERE provider_task_id IS NOT NULL;

-- The timeline: every status change and every notable event, in the order written.
CREATE TABLE job_events (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id  text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL,
    kind    text NOT NULL,
    status  text,
    detail  json NOT NULL DEFAULT '{}'
);

CREATE INDEX job_events_job_idx ON job_events (job_id, seq);
