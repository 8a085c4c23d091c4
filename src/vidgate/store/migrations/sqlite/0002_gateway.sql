-- The gateway: every job belongs to one API key (owner), keys are stored hashed, outgoing webhook deliveries
-- and their attempts are logged, characters created through the gateway are kept per key.

ALTER TABLE jobs ADD COLUMN owner TEXT;
CREATE INDEX jobs_owner_idx ON jobs (owner, created_at, id) WHERE owner IS NOT NULL;

-- API keys: only a salted HMAC-SHA256 of the secret is kept. id is the public part shown in lists.
CREATE TABLE api_keys (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    salt               TEXT NOT NULL,
    secret_hash        TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    revoked_at         TEXT,
    rate_limit_per_min INTEGER,
    budget_usd         REAL,
    spent_usd          REAL NOT NULL DEFAULT 0,
    webhook_url        TEXT
);

-- Create requests per key per minute (fixed windows), shared by every gateway replica.
CREATE TABLE api_key_windows (
    key_id       TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    window_start TEXT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_start)
);

-- One row per (job, callback URL): waiting until the job is final, then pending until delivered or given up.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    job_id          TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    owner           TEXT,
    url             TEXT NOT NULL,
    state           TEXT NOT NULL,
    event_type      TEXT,
    payload         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    lease_owner     TEXT,
    lease_until     TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    delivered_at    TEXT
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (job_id);

-- Every attempt of every delivery: when, the answer's status (NULL: no answer) and why it failed.
CREATE TABLE webhook_attempts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL
);

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, seq);

CREATE TABLE gateway_characters (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data       TEXT NOT NULL
);

CREATE INDEX gateway_characters_owner_idx ON gateway_characters (owner, created_at);
