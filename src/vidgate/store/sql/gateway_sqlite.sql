-- Named queries for the gateway's tables on SQLite (see vidgate.store.gateway). Times are fixed-width UTC text.

-- name: insert_key
INSERT INTO api_keys (id, name, salt, secret_hash, created_at, revoked_at, rate_limit_per_min, budget_usd,
                      spent_usd, webhook_url)
VALUES (:id, :name, :salt, :secret_hash, :created_at, :revoked_at, :rate_limit_per_min, :budget_usd,
        :spent_usd, :webhook_url)

-- name: get_key
SELECT * FROM api_keys WHERE id = :id

-- name: get_key_and_job
-- A caller's key and the job it reads, in one round trip (what each poll of a video costs): the key's columns,
-- then the job's as job_*, NULL for whichever does not exist.
SELECT k.*, j.version AS job_version, j.next_poll_at AS job_next_poll_at, j.lease_owner AS job_lease_owner,
       j.lease_until AS job_lease_until, j.data AS job_data
FROM (SELECT 1) AS one
LEFT JOIN api_keys AS k ON k.id = :key_id
LEFT JOIN jobs AS j ON j.id = :job_id

-- name: list_keys
SELECT * FROM api_keys ORDER BY created_at, id

-- name: revoke_key
UPDATE api_keys SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL

-- name: charge
UPDATE api_keys SET spent_usd = spent_usd + :cost
WHERE id = :id AND (budget_usd IS NULL OR spent_usd + :cost <= budget_usd + 1e-9)

-- name: adjust_spend
-- A kept charge settled at the provider's recorded price: the difference to the estimate held (either sign).
UPDATE api_keys SET spent_usd = MAX(0, spent_usd + :delta) WHERE id = :id

-- name: refund
UPDATE api_keys SET spent_usd = MAX(0, spent_usd - :cost) WHERE id = :id

-- name: lock_key
-- Creates of one key are counted one at a time (SQLite: BEGIN IMMEDIATE serializes every writer already).
SELECT id FROM api_keys WHERE id = :key_id

-- name: prune_creates
DELETE FROM api_key_creates WHERE key_id = :key_id AND at <= :since

-- name: count_creates
SELECT COUNT(*) AS n, MIN(at) AS oldest FROM api_key_creates WHERE key_id = :key_id

-- name: insert_create
INSERT INTO api_key_creates (slot, key_id, at) VALUES (:slot, :key_id, :at)

-- name: release_create
DELETE FROM api_key_creates WHERE slot = :slot

-- name: hold_charge
INSERT INTO job_charges (job_id, key_id, cost_usd, state, created_at)
VALUES (:job_id, :key_id, :cost, 'held', :at)
ON CONFLICT (job_id) DO NOTHING

-- name: get_charge
SELECT * FROM job_charges WHERE job_id = :job_id

-- name: charges_to_settle
-- Held charges whose job has ended (or is gone): settled once, by whichever replica gets there first.
SELECT c.job_id, c.key_id, c.cost_usd, j.status, j.data
FROM job_charges c LEFT JOIN jobs j ON j.id = c.job_id
WHERE c.state = 'held' AND (j.id IS NULL OR j.status IN ('succeeded', 'failed', 'cancelled', 'expired'))
ORDER BY c.created_at
LIMIT :limit

-- name: settle_charge
UPDATE job_charges SET state = :state, settled_at = :at, cost_usd = :cost WHERE job_id = :job_id AND state = 'held'

-- name: insert_delivery
INSERT INTO webhook_deliveries (id, job_id, owner, url, state, event_type, payload, attempts, next_attempt_at,
                                last_status, last_error, created_at, updated_at, delivered_at)
VALUES (:id, :job_id, :owner, :url, :state, :event_type, :payload, :attempts, :next_attempt_at,
        :last_status, :last_error, :created_at, :updated_at, :delivered_at)

-- name: waiting_for_final
SELECT d.* FROM webhook_deliveries d JOIN jobs j ON j.id = d.job_id
WHERE d.state = 'waiting' AND j.status IN ('succeeded', 'failed', 'cancelled', 'expired')
ORDER BY d.created_at, d.id
LIMIT :limit

-- name: arm
UPDATE webhook_deliveries
SET state = 'pending', event_type = :event_type, payload = :payload, next_attempt_at = :at, updated_at = :at
WHERE id = :id AND state = 'waiting'

-- name: claim_deliveries
-- Run inside BEGIN IMMEDIATE: one writer at a time, so no two senders lease the same delivery.
UPDATE webhook_deliveries
SET lease_owner = :sender, lease_until = :lease_until
WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE state = 'pending' AND next_attempt_at IS NOT NULL AND next_attempt_at <= :now
      AND (lease_until IS NULL OR lease_until <= :now)
    ORDER BY next_attempt_at, id
    LIMIT :limit
)
RETURNING *

-- name: finish_attempt
UPDATE webhook_deliveries
SET state = :state, attempts = attempts + 1, last_status = :status, last_error = :error,
    next_attempt_at = :next_attempt_at, updated_at = :at, lease_owner = NULL, lease_until = NULL,
    delivered_at = CASE WHEN :state = 'delivered' THEN :at ELSE delivered_at END
WHERE id = :id AND lease_owner = :sender

-- name: insert_attempt
INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms)
VALUES (:id, :at, :status, :error, :duration_ms)

-- name: get_delivery
SELECT * FROM webhook_deliveries WHERE id = :id

-- name: list_deliveries
SELECT * FROM webhook_deliveries
WHERE (:owner IS NULL OR owner = :owner) AND (:job_id IS NULL OR job_id = :job_id)
ORDER BY created_at DESC, id DESC
LIMIT :limit

-- name: list_attempts
SELECT * FROM webhook_attempts WHERE delivery_id = :id ORDER BY seq

-- name: upsert_character
INSERT INTO gateway_characters (id, owner, created_at, data) VALUES (:id, :owner, :created_at, :data)
ON CONFLICT (id) DO UPDATE SET data = excluded.data

-- name: get_character
SELECT * FROM gateway_characters WHERE id = :id

-- name: list_characters
SELECT * FROM gateway_characters WHERE owner = :owner ORDER BY created_at DESC, id DESC LIMIT :limit

-- name: jobs_by_status
SELECT status, COUNT(*) AS n FROM jobs GROUP BY status

-- name: deliveries_by_state
SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state
