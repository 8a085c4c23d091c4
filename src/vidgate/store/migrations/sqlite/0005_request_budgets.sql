-- Per-provider request budgets shared by every process on this database (vidgate.store.budget): a token
-- bucket per name, booked in one immediate transaction, so all workers and gateways on one credential together
-- stay under its rate.
CREATE TABLE request_budgets (
    name   TEXT PRIMARY KEY,
    tokens REAL NOT NULL,  -- may be negative: slots booked ahead, each caller waits for its own
    stamp  REAL NOT NULL   -- seconds since the epoch when the tokens were counted
);
