-- Rate limits count accepted creates in a sliding minute (one row per create, released when the create is not
-- accepted), replacing the fixed per-minute windows that let twice the limit through across a boundary.
DROP TABLE api_key_windows;

CREATE TABLE api_key_creates (
    slot   text PRIMARY KEY,
    key_id text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    at     timestamptz NOT NULL
);

CREATE INDEX api_key_creates_key_idx ON api_key_creates (key_id, at);

-- What each job was charged on its key's budget: held until the job ends, then kept (a video, or an expired
-- one the provider made) or refunded (failed or cancelled without a video). Kept after the job is deleted.
CREATE TABLE job_charges (
    job_id     text PRIMARY KEY,
    key_id     text NOT NULL,
    cost_usd   double precision NOT NULL,
    state      text NOT NULL,
    created_at timestamptz NOT NULL,
    settled_at timestamptz
);

CREATE INDEX job_charges_held_idx ON job_charges (job_id) WHERE state = 'held';
