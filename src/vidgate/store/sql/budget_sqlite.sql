-- Request budgets on SQLite (vidgate.store.budget); table: migration 0005. The caller's clock (one machine).

-- name: get_budget
SELECT tokens, stamp FROM request_budgets WHERE name = :name

-- name: put_budget
INSERT INTO request_budgets (name, tokens, stamp) VALUES (:name, :tokens, :stamp)
ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, stamp = excluded.stamp
