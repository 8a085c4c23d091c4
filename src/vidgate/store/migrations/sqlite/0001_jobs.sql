-- Jobs: one JSON document per job plus the columns queries filter on.
-- Times are fixed-width UTC text (YYYY-MM-DDTHH:MM:SS.ffffffZ) so they compare like instants.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT UNIQUE,
    provider         TEXT NOT NULL,
    model            TEXT NOT NULL,
    status           TEXT NOT NULL,
    raw_status       TEXT,
    provider_task_id TEXT,
    next_poll_at     TEXT,
    lease_owner      TEXT,
    lease_until      TEXT,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    data             TEXT NOT NULL
);

CREATE INDEX jobs_due_idx ON jobs (next_poll_at, id) WHERE next_poll_at IS NOT NULL;
CREATE INDEX jobs_created_idx ON jobs (created_at, id);
CREATE INDEX jobs_status_idx ON jobs (status, updated_at);
CREATE INDEX jobs_provider_idx ON jobs (provider, created_at);
CREATE INDEX jobs_model_idx ON jobs (model, created_at);
CREATE INDEX jobs_provider_task_idx ON jobs (provider, provider_task_id) WHERE provider_task_id IS NOT NULL;

-- The timeline: every status change and every notable event, in the order written.
CREATE TABLE job_events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,
    status  TEXT,
    detail  TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX job_events_job_idx ON job_events (job_id, seq);
