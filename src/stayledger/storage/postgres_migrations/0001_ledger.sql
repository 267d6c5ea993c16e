-- PostgreSQL schema, version 1: the same tables as DuckDB schema 6, in PostgreSQL's types.
-- Append a new numbered file for a change; never edit one that has shipped.
-- TIMESTAMP columns hold UTC without a zone (as in DuckDB); seq columns give append order.

CREATE SEQUENCE event_seq;
CREATE SEQUENCE quarantine_seq;
CREATE SEQUENCE run_seq;
CREATE SEQUENCE model_seq;

CREATE TABLE events (
    seq BIGINT NOT NULL DEFAULT nextval('event_seq'),
    event_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    source TEXT NOT NULL,
    surname TEXT NOT NULL,
    given_names TEXT,
    date_of_birth TEXT NOT NULL,
    sex TEXT,
    nationality TEXT NOT NULL,
    document_type TEXT,
    document_number TEXT,
    document_issuer TEXT,
    port TEXT,
    mode TEXT,
    carrier TEXT,
    admission_class TEXT,
    admitted_until DATE,
    duration_of_status BOOLEAN NOT NULL,
    change TEXT,
    new_class TEXT,
    new_until DATE,
    admission_ref TEXT,
    corrects TEXT,
    ingested_at TIMESTAMP NOT NULL DEFAULT timezone('UTC', now())
);
CREATE INDEX events_seq ON events (seq);

CREATE TABLE quarantine (
    seq BIGINT NOT NULL DEFAULT nextval('quarantine_seq'),
    quarantine_id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    location TEXT NOT NULL,
    event_id TEXT,
    raw TEXT NOT NULL,
    reasons TEXT NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);
CREATE INDEX quarantine_seq_idx ON quarantine (seq);
CREATE INDEX quarantine_event ON quarantine (event_id);

CREATE TABLE resolution_runs (
    run_id INTEGER PRIMARY KEY,
    method TEXT NOT NULL,
    model_version TEXT,
    events BIGINT,
    persons BIGINT,
    merges INTEGER,
    splits INTEGER,
    finished_at TIMESTAMP NOT NULL
);

CREATE TABLE identities (
    event_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    link_probability DOUBLE PRECISION,
    run_id INTEGER NOT NULL
);
CREATE INDEX identities_person ON identities (person_id);

CREATE TABLE identity_changes (
    id BIGSERIAL PRIMARY KEY,
    run_id INTEGER NOT NULL,
    change TEXT NOT NULL,
    person_id TEXT NOT NULL,
    other_person_id TEXT NOT NULL,
    events_moved INTEGER NOT NULL,
    reason TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

CREATE TABLE linkage_models (
    version INTEGER PRIMARY KEY,
    description TEXT,
    model_json TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE review_queue (
    event_id_l TEXT NOT NULL,
    event_id_r TEXT NOT NULL,
    match_probability DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    note TEXT,
    queued_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    PRIMARY KEY (event_id_l, event_id_r)
);

CREATE TABLE review_decisions (
    id BIGSERIAL PRIMARY KEY,
    event_id_l TEXT NOT NULL,
    event_id_r TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    note TEXT,
    decided_at TIMESTAMP NOT NULL
);
CREATE INDEX review_decisions_pair ON review_decisions (event_id_l, event_id_r);

CREATE TABLE erasure_log (
    erased_at TIMESTAMP NOT NULL,
    events BIGINT NOT NULL,
    reason TEXT NOT NULL
);

CREATE TABLE ledger_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO ledger_meta VALUES ('ledger_id', replace(gen_random_uuid()::text, '-', ''));

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    entry TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);

-- No key on tree_size: a head is never overwritten, even when entries after it were removed.
CREATE TABLE audit_tree_heads (
    id BIGSERIAL PRIMARY KEY,
    tree_size BIGINT NOT NULL,
    root_hash TEXT NOT NULL,
    frontier TEXT NOT NULL
);
CREATE INDEX audit_tree_heads_size ON audit_tree_heads (tree_size);

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE correction_cases (
    case_id TEXT PRIMARY KEY,
    event_id TEXT,
    field TEXT NOT NULL,
    claimed_value TEXT NOT NULL,
    explanation TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decision_note TEXT,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
