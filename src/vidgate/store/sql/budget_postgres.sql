-- Request budgets on PostgreSQL (vidgate.store.budget; psycopg %(name)s parameters); table: migration 0005. The server's clock, so processes
-- on machines whose clocks differ share one timeline.

-- name: add_budget
INSERT INTO request_budgets (name, tokens, stamp)
VALUES (%(name)s, %(burst)s, extract(epoch FROM clock_timestamp()))
ON CONFLICT (name) DO NOTHING

-- name: take_tokens
-- Refill since the last booking (capped at the burst), take n (possibly into debt); the row lock serialises
-- every process's booking.
UPDATE request_budgets AS b
SET tokens = least(%(burst)s, b.tokens + greatest(0, t.now - b.stamp) * %(rate)s) - %(n)s,
    stamp = greatest(b.stamp, t.now)
FROM (SELECT extract(epoch FROM clock_timestamp())::double precision AS now) AS t
WHERE b.name = %(name)s
RETURNING b.tokens
