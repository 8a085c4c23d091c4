-- The gateway: every job belongs to one API key (owner), keys are stored hashed, outgoing webhook deliveries
-- and their attempts are logged, characters created through the gateway are kept per key.

ALTER TABLE jobs ADD COLUMN owner text;
CREATE INDEX jobs_owner_idx ON jobs (owner, created_at, id) WHERE owner IS NOT NULL;

-- API keys: only a salted HMAC-SHA256 of the secret is kept. id is the public part shown in lists.
CREATE TABLE api_keys (
    id                 text PRIMARY KEY,
    name               text NOT NULL,
    salt               text NOT NULL,
    secret_hash        text NOT NULL,
    created_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    rate_limit_per_min integer,
    budget_usd         double precision,
    spent_usd          double precision NOT NULL DEFAULT 0,
    webhook_url        text
);

-- Create requests per key per minute (fixed windows), shared by every gateway replica.
CREATE TABLE api_key_windows (
    key_id       text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (key_id, window_start)
);

-- One row per (job, callback URL): waiting until the job is final, then pending until delivered or given up.
CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY,
    job_id          text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    owner           text,
    url             text NOT NULL,
    state           text NOT NULL,
    event_type      text,
    payload         text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    lease_owner     text,
    lease_until     timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (job_id);

-- Every attempt of every delivery: when, the answer's status (NULL: no answer) and why it failed.
CREATE TABLE webhook_attempts (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    status      integer,
    error       text,
    duration_ms integer NOT NULL
);

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, seq);

CREATE TABLE gateway_characters (
    id         text PRIMARY KEY,
    owner      text NOT NULL,
    created_at timestamptz NOT NULL,
    data       text NOT NULL
);

CREATE INDEX gateway_characters_owner_idx ON gateway_characters (owner, created_at);
