-- State the workers of one service share (`stayledger serve --workers N`, storage/shared_state.py): request
-- counters for the traveller rate limits and staff console sessions. Not ledger records: keys are SHA-256 hashes
-- (of a client address, a document number, a session cookie), rows expire.
-- UNLOGGED: cheap to write, not in the WAL, backups or replicas; emptied after a server crash (limits start afresh,
-- staff sign in again).
CREATE UNLOGGED TABLE request_counts (
    key TEXT NOT NULL,
    window_start_ms BIGINT NOT NULL,  -- epoch milliseconds
    hits INTEGER NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (key, window_start_ms)
);
CREATE INDEX request_counts_expiry ON request_counts (expires_at);

CREATE UNLOGGED TABLE console_sessions (
    key_hash TEXT PRIMARY KEY,
    session TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
