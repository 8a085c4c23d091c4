-- Named queries for the PostgreSQL store (psycopg parameters in %(name)s style).

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- name: lock_migrations
-- Transaction-scoped advisory lock: concurrent startups apply migrations one at a time.
SELECT pg_advisory_xact_lock(%(key)s)

-- name: applied_migrations
SELECT version, checksum FROM schema_migrations ORDER BY version

-- name: record_migration
INSERT INTO schema_migrations (version, name, checksum) VALUES (%(version)s, %(name)s, %(checksum)s)

-- name: insert_job
-- A second job with the same idempotency key inserts nothing (it waits for the first to commit).
INSERT INTO jobs (id, idempotency_key, provider, model, status, raw_status, provider_task_id, next_poll_at,
                  lease_owner, lease_until, version, created_at, updated_at, data, owner, endpoint)
VALUES (%(id)s, %(idempotency_key)s, %(provider)s, %(model)s, %(status)s, %(raw_status)s, %(provider_task_id)s,
        %(next_poll_at)s, NULL, NULL, 1, %(created_at)s, %(updated_at)s, %(data)s::json, %(owner)s,
        %(endpoint)s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id

-- name: get_job
SELECT version, next_poll_at, lease_owner, lease_until, data::text FROM jobs WHERE id = %(id)s

-- name: get_job_by_key
SELECT version, next_poll_at, lease_owner, lease_until, data::text FROM jobs WHERE idempotency_key = %(key)s

-- name: get_job_by_provider_task
SELECT version, next_poll_at, lease_owner, lease_until, data::text FROM jobs
WHERE provider = %(provider)s AND provider_task_id = %(provider_task_id)s
ORDER BY created_at DESC
LIMIT 1

-- name: job_head
-- Locks the row until the saving transaction ends: concurrent saves of one job queue up here.
SELECT version, status, raw_status, provider, model, idempotency_key, created_at, endpoint, lease_owner,
       lease_until
FROM jobs WHERE id = %(id)s
FOR UPDATE

-- name: update_job
UPDATE jobs
SET status = %(status)s, raw_status = %(raw_status)s, provider_task_id = %(provider_task_id)s,
    next_poll_at = %(next_poll_at)s, updated_at = %(updated_at)s, data = %(data)s::json, version = version + 1
WHERE id = %(id)s AND version = %(version)s

-- name: job_exists
SELECT 1 FROM jobs WHERE id = %(id)s

-- name: insert_event
INSERT INTO job_events (job_id, at, kind, status, detail)
VALUES (%(job_id)s, %(at)s, %(kind)s, %(status)s, %(detail)s::json)
RETURNING seq

-- name: list_events
SELECT seq, job_id, at, kind, status, detail::text FROM job_events WHERE job_id = %(job_id)s ORDER BY seq

-- name: list_jobs
-- Newest first, keyset pagination on (created_at, id).
SELECT version, next_poll_at, lease_owner, lease_until, data::text, created_at, id FROM jobs
WHERE (%(statuses)s::text[] IS NULL OR status = ANY (%(statuses)s::text[]))
  AND (%(provider)s::text IS NULL OR provider = %(provider)s::text)
  AND (%(model)s::text IS NULL OR model = %(model)s::text)
  AND (%(owner)s::text IS NULL OR owner = %(owner)s::text)
  AND (%(created_from)s::timestamptz IS NULL OR created_at >= %(created_from)s::timestamptz)
  AND (%(created_to)s::timestamptz IS NULL OR created_at < %(created_to)s::timestamptz)
  AND (%(cursor_created)s::timestamptz IS NULL
       OR (created_at, id) < (%(cursor_created)s::timestamptz, %(cursor_id)s::text))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s

-- name: awaiting_decision
SELECT version, next_poll_at, lease_owner, lease_until, data::text FROM jobs
WHERE status = 'unknown' AND next_poll_at IS NULL
ORDER BY updated_at, id
LIMIT %(limit)s

-- name: claim_due
-- SKIP LOCKED: concurrent workers pass over rows another worker is claiming instead of waiting.
WITH due AS (
    SELECT id FROM jobs
    WHERE next_poll_at <= %(now)s
      AND (lease_until IS NULL OR lease_until <= %(now)s)
      AND (%(endpoints)s::text[] IS NULL OR endpoint = ANY (%(endpoints)s::text[]))
    ORDER BY next_poll_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE jobs AS j
SET lease_owner = %(worker_id)s, lease_until = %(lease_until)s, version = j.version + 1
FROM due
WHERE j.id = due.id
RETURNING j.version, j.next_poll_at, j.lease_owner, j.lease_until, j.data::text

-- name: heartbeat
UPDATE jobs SET lease_until = %(lease_until)s WHERE id = %(id)s AND lease_owner = %(worker_id)s

-- name: wake
UPDATE jobs
SET next_poll_at = CASE WHEN next_poll_at IS NULL OR next_poll_at > %(at)s::timestamptz
                        THEN %(at)s::timestamptz ELSE next_poll_at END
WHERE id = %(id)s

-- name: release
UPDATE jobs SET lease_owner = NULL, lease_until = NULL, next_poll_at = %(next_poll_at)s
WHERE id = %(id)s AND lease_owner = %(worker_id)s

-- name: delete_job
-- Timeline entries and webhook deliveries go with it (ON DELETE CASCADE).
DELETE FROM jobs WHERE id = %(id)s

-- name: due_by_endpoint
-- Due jobs nobody holds, per endpoint: what a worker reports it leaves to workers of other endpoints.
SELECT endpoint, count(*) AS jobs, min(id) AS example FROM jobs
WHERE next_poll_at <= %(now)s
  AND (lease_until IS NULL OR lease_until <= %(now)s)
GROUP BY endpoint
