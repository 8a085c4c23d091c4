-- Named queries for the gateway's tables on PostgreSQL (psycopg %(name)s parameters).

-- name: insert_key
INSERT INTO api_keys (id, name, salt, secret_hash, created_at, revoked_at, rate_limit_per_min, budget_usd,
                      spent_usd, webhook_url)
VALUES (%(id)s, %(name)s, %(salt)s, %(secret_hash)s, %(created_at)s, %(revoked_at)s, %(rate_limit_per_min)s, %(budget_usd)s,
        %(spent_usd)s, %(webhook_url)s)

-- name: get_key
SELECT * FROM api_keys WHERE id = %(id)s

-- name: get_key_and_job
-- A caller's key and the job it reads, in one round trip (what each poll of a video costs): the key's columns,
-- then the job's as job_*, NULL for whichever does not exist.
SELECT k.*, j.version AS job_version, j.next_poll_at AS job_next_poll_at, j.lease_owner AS job_lease_owner,
       j.lease_until AS job_lease_until, j.data::text AS job_data
FROM (SELECT 1) AS one
LEFT JOIN api_keys AS k ON k.id = %(key_id)s
LEFT JOIN jobs AS j ON j.id = %(job_id)s

-- name: list_keys
SELECT * FROM api_keys ORDER BY created_at, id

-- name: revoke_key
UPDATE api_keys SET revoked_at = %(at)s WHERE id = %(id)s AND revoked_at IS NULL

-- name: charge
UPDATE api_keys SET spent_usd = spent_usd + %(cost)s
WHERE id = %(id)s AND (budget_usd IS NULL OR spent_usd + %(cost)s <= budget_usd + 1e-9)

-- name: adjust_spend
-- A kept charge settled at the provider's recorded price: the difference to the estimate held (either sign).
UPDATE api_keys SET spent_usd = GREATEST(0, spent_usd + %(delta)s) WHERE id = %(id)s

-- name: refund
UPDATE api_keys SET spent_usd = GREATEST(0, spent_usd - %(cost)s) WHERE id = %(id)s

-- name: lock_key
-- Creates of one key are counted one at a time.
SELECT id FROM api_keys WHERE id = %(key_id)s FOR UPDATE

-- name: prune_creates
DELETE FROM api_key_creates WHERE key_id = %(key_id)s AND at <= %(since)s

-- name: count_creates
SELECT COUNT(*) AS n, MIN(at) AS oldest FROM api_key_creates WHERE key_id = %(key_id)s

-- name: insert_create
INSERT INTO api_key_creates (slot, key_id, at) VALUES (%(slot)s, %(key_id)s, %(at)s)

-- name: release_create
DELETE FROM api_key_creates WHERE slot = %(slot)s

-- name: hold_charge
INSERT INTO job_charges (job_id, key_id, cost_usd, state, created_at)
VALUES (%(job_id)s, %(key_id)s, %(cost)s, 'held', %(at)s)
ON CONFLICT (job_id) DO NOTHING

-- name: get_charge
SELECT * FROM job_charges WHERE job_id = %(job_id)s

-- name: charges_to_settle
-- Held charges whose job has ended (or is gone): settled once, by whichever replica gets there first.
SELECT c.job_id, c.key_id, c.cost_usd, j.status, j.data::text AS data
FROM job_charges c LEFT JOIN jobs j ON j.id = c.job_id
WHERE c.state = 'held' AND (j.id IS NULL OR j.status IN ('succeeded', 'failed', 'cancelled', 'expired'))
ORDER BY c.created_at
LIMIT %(limit)s FOR UPDATE OF c SKIP LOCKED

-- name: settle_charge
UPDATE job_charges SET state = %(state)s, settled_at = %(at)s, cost_usd = %(cost)s WHERE job_id = %(job_id)s AND state = 'held'

-- name: insert_delivery
INSERT INTO webhook_deliveries (id, job_id, owner, url, state, event_type, payload, attempts, next_attempt_at,
                                last_status, last_error, created_at, updated_at, delivered_at)
VALUES (%(id)s, %(job_id)s, %(owner)s, %(url)s, %(state)s, %(event_type)s, %(payload)s, %(attempts)s, %(next_attempt_at)s,
        %(last_status)s, %(last_error)s, %(created_at)s, %(updated_at)s, %(delivered_at)s)

-- name: waiting_for_final
SELECT d.* FROM webhook_deliveries d JOIN jobs j ON j.id = d.job_id
WHERE d.state = 'waiting' AND j.status IN ('succeeded', 'failed', 'cancelled', 'expired')
ORDER BY d.created_at, d.id
LIMIT %(limit)s

-- name: arm
UPDATE webhook_deliveries
SET state = 'pending', event_type = %(event_type)s, payload = %(payload)s, next_attempt_at = %(at)s, updated_at = %(at)s
WHERE id = %(id)s AND state = 'waiting'

-- name: claim_deliveries
-- SKIP LOCKED: concurrent senders never wait on or double-lease a row.
UPDATE webhook_deliveries
SET lease_owner = %(sender)s, lease_until = %(lease_until)s
WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE state = 'pending' AND next_attempt_at IS NOT NULL AND next_attempt_at <= %(now)s
      AND (lease_until IS NULL OR lease_until <= %(now)s)
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING *

-- name: finish_attempt
UPDATE webhook_deliveries
SET state = %(state)s, attempts = attempts + 1, last_status = %(status)s, last_error = %(error)s,
    next_attempt_at = %(next_attempt_at)s, updated_at = %(at)s, lease_owner = NULL, lease_until = NULL,
    delivered_at = CASE WHEN %(state)s::text = 'delivered' THEN %(at)s ELSE delivered_at END
WHERE id = %(id)s AND lease_owner = %(sender)s

-- name: insert_attempt
INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms)
VALUES (%(id)s, %(at)s, %(status)s, %(error)s, %(duration_ms)s)

-- name: get_delivery
SELECT * FROM webhook_deliveries WHERE id = %(id)s

-- name: list_deliveries
SELECT * FROM webhook_deliveries
WHERE (%(owner)s::text IS NULL OR owner = %(owner)s::text) AND (%(job_id)s::text IS NULL OR job_id = %(job_id)s::text)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s

-- name: list_attempts
SELECT * FROM webhook_attempts WHERE delivery_id = %(id)s ORDER BY seq

-- name: upsert_character
INSERT INTO gateway_characters (id, owner, created_at, data) VALUES (%(id)s, %(owner)s, %(created_at)s, %(data)s)
ON CONFLICT (id) DO UPDATE SET data = excluded.data

-- name: get_character
SELECT * FROM gateway_characters WHERE id = %(id)s

-- name: list_characters
SELECT * FROM gateway_characters WHERE owner = %(owner)s ORDER BY created_at DESC, id DESC LIMIT %(limit)s

-- name: jobs_by_status
SELECT status, COUNT(*) AS n FROM jobs GROUP BY status

-- name: deliveries_by_state
SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state
