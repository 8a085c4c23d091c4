-- Named queries for the SQLite store (parameters in :name style). Times are fixed-width UTC text.

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
)

-- name: applied_migrations
SELECT version, checksum FROM schema_migrations ORDER BY version

-- name: record_migration
INSERT INTO schema_migrations (version, name, checksum, applied_at)
VALUES (:version, :name, :checksum, :applied_at)

-- name: insert_job
-- A second job with the same idempotency key inserts nothing; the caller then reads the existing one.
INSERT INTO jobs (id, idempotency_key, provider, model, status, raw_status, provider_task_id, next_poll_at,
                  lease_owner, lease_until, version, created_at, updated_at, data, owner, endpoint)
VALUES (:id, :idempotency_key, :provider, :model, :status, :raw_status, :provider_task_id, :next_poll_at,
        NULL, NULL, 1, :created_at, :updated_at, :data, :owner, :endpoint)
ON CONFLICT (idempotency_key) DO NOTHING

-- name: get_job
SELECT version, next_poll_at, lease_owner, lease_until, data FROM jobs WHERE id = :id

-- name: get_job_by_key
SELECT version, next_poll_at, lease_owner, lease_until, data FROM jobs WHERE idempotency_key = :key

-- name: get_job_by_provider_task
SELECT version, next_poll_at, lease_owner, lease_until, data FROM jobs
WHERE provider = :provider AND provider_task_id = :provider_task_id
ORDER BY created_at DESC
LIMIT 1

-- name: job_head
SELECT version, status, raw_status, provider, model, idempotency_key, created_at, endpoint, lease_owner,
       lease_until
FROM jobs WHERE id = :id

-- name: update_job
UPDATE jobs
SET status = :status, raw_status = :raw_status, provider_task_id = :provider_task_id,
    next_poll_at = :next_poll_at, updated_at = :updated_at, data = :data, version = version + 1
WHERE id = :id AND version = :version

-- name: insert_event
INSERT INTO job_events (job_id, at, kind, status, detail)
VALUES (:job_id, :at, :kind, :status, :detail)
RETURNING seq

-- name: list_events
SELECT seq, job_id, at, kind, status, detail FROM job_events WHERE job_id = :job_id ORDER BY seq

-- name: list_jobs
-- Newest first, keyset pagination on (created_at, id). :statuses is a JSON array or NULL.
SELECT version, next_poll_at, lease_owner, lease_until, data, created_at, id FROM jobs
WHERE (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:provider IS NULL OR provider = :provider)
  AND (:model IS NULL OR model = :model)
  AND (:owner IS NULL OR owner = :owner)
  AND (:created_from IS NULL OR created_at >= :created_from)
  AND (:created_to IS NULL OR created_at < :created_to)
  AND (:cursor_created IS NULL OR (created_at, id) < (:cursor_created, :cursor_id))
ORDER BY created_at DESC, id DESC
LIMIT :limit

-- name: awaiting_decision
SELECT version, next_poll_at, lease_owner, lease_until, data FROM jobs
WHERE status = 'unknown' AND next_poll_at IS NULL
ORDER BY updated_at, id
LIMIT :limit

-- name: claim_due
-- Run inside BEGIN IMMEDIATE: one writer at a time, so no two workers lease the same job.
UPDATE jobs
SET lease_owner = :worker_id, lease_until = :lease_until, version = version + 1
WHERE id IN (
    SELECT id FROM jobs
    WHERE next_poll_at IS NOT NULL AND next_poll_at <= :now
      AND (lease_until IS NULL OR lease_until <= :now)
      AND (:endpoints IS NULL OR endpoint IN (SELECT value FROM json_each(:endpoints)))
    ORDER BY next_poll_at, id
    LIMIT :limit
)
RETURNING version, next_poll_at, lease_owner, lease_until, data

-- name: heartbeat
UPDATE jobs SET lease_until = :lease_until WHERE id = :id AND lease_owner = :worker_id

-- name: wake
UPDATE jobs
SET next_poll_at = CASE WHEN next_poll_at IS NULL OR next_poll_at > :at THEN :at ELSE next_poll_at END
WHERE id = :id

-- name: release
UPDATE jobs SET lease_owner = NULL, lease_until = NULL, next_poll_at = :next_poll_at
WHERE id = :id AND lease_owner = :worker_id

-- name: job_exists
SELECT 1 FROM jobs WHERE id = :id

-- name: delete_job
-- Timeline entries and webhook deliveries go with it (ON DELETE CASCADE).
DELETE FROM jobs WHERE id = :id

-- name: due_by_endpoint
-- Due jobs nobody holds, per endpoint: what a worker reports it leaves to workers of other endpoints.
SELECT endpoint, count(*) AS jobs, min(id) AS example FROM jobs
WHERE next_poll_at IS NOT NULL AND next_poll_at <= :now
  AND (lease_until IS NULL OR lease_until <= :now)
GROUP BY endpoint
