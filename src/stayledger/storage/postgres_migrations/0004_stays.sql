-- The stays snapshot (`stayledger stays determine`): the newest determination of every stay, replaced wholesale;
-- each run's as-of day, rule pack, engine and count are kept. Steps, evidence and links are JSON text.
-- The same tables as DuckDB schema 9.
CREATE SEQUENCE stays_seq;

CREATE TABLE stays_runs (
    run_id INTEGER PRIMARY KEY,
    as_of DATE NOT NULL,
    rule_pack TEXT NOT NULL,
    engine TEXT NOT NULL,
    stays BIGINT NOT NULL,
    determined_at TIMESTAMP NOT NULL
);

CREATE TABLE stays (
    run_id INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    arrival_event_id TEXT NOT NULL,
    arrived_on DATE NOT NULL,
    status TEXT NOT NULL,
    authorized_until DATE,
    overstay_days INTEGER NOT NULL,
    admission_class TEXT NOT NULL,
    closing_event_id TEXT,
    closed_by TEXT NOT NULL,
    held_because TEXT,
    pending BOOLEAN NOT NULL,
    rule_pack TEXT NOT NULL,
    rule_version TEXT NOT NULL,
    evidence TEXT NOT NULL,
    uncertain_links TEXT NOT NULL,
    steps TEXT NOT NULL
);
