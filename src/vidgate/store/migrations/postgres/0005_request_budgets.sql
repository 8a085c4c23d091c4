-- Per-provider request budgets shared by every process on this database (vidgate.store.budget): a token
-- bucket per name, booked with one row-locking UPDATE on the server's clock, so all workers and gateways on one
-- credential together stay under its rate, whichever machine they run on.
CREATE TABLE request_budgets (
    name   TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,  -- may be negative: slots booked ahead, each caller waits for its own
    stamp  DOUBLE PRECISION NOT NULL   -- seconds since the epoch (the server's clock) when tokens were counted
);
