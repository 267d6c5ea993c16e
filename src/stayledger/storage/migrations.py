"""Versioned schema of the SQL stores. Append a new version; never edit one that has shipped."""

from __future__ import annotations

from stayledger.domain.events import DATE_FIELDS, FIELDS
from stayledger.identity.normalise import OCR_CONFUSABLE


def document_key_sql(column: str) -> str:
    """SQL for ``ocr_canonical(column)``: letters and digits only, upper case, OCR look-alikes folded (O→0, I→1…)."""
    letters, digits = "".join(OCR_CONFUSABLE), "".join(OCR_CONFUSABLE.values())
    return f"translate(regexp_replace(upper({column}), '[^A-Z0-9]', '', 'g'), '{letters}', '{digits}')"

# Event columns added by a later migration (version 1 must stay exactly as it shipped).
_ADDED_LATER = {"corrects"}
_REQUIRED = {"event_id", "kind", "occurred_on", "source", "surname", "date_of_birth", "nationality"}


def _event_column(name: str) -> str:
    sql_type = "DATE" if name in DATE_FIELDS else "BOOLEAN" if name == "duration_of_status" else "VARCHAR"
    constraint = " NOT NULL" if name in _REQUIRED or name == "duration_of_status" else ""
    if name == "event_id":
        constraint = " PRIMARY KEY"  # the append-only log's identity: a second write of an id is refused
    return f"{name} {sql_type}{constraint}"


MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE SEQUENCE quarantine_seq START 1",
        "CREATE SEQUENCE run_seq START 1",
        "CREATE SEQUENCE model_seq START 1",
        "CREATE TABLE events (seq BIGINT NOT NULL, "
        + ", ".join(_event_column(f) for f in FIELDS if f not in _ADDED_LATER)
        + ", ingested_at TIMESTAMP NOT NULL)",
        """CREATE TABLE quarantine (seq BIGINT NOT NULL, quarantine_id VARCHAR PRIMARY KEY, origin VARCHAR NOT NULL,
           location VARCHAR NOT NULL, event_id VARCHAR, raw VARCHAR NOT NULL, reasons VARCHAR NOT NULL,
           quarantined_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE resolution_runs (run_id INTEGER PRIMARY KEY, method VARCHAR NOT NULL, model_version VARCHAR,
           events BIGINT, persons BIGINT, merges INTEGER, splits INTEGER, finished_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE identities (event_id VARCHAR PRIMARY KEY, person_id VARCHAR NOT NULL,
           link_probability DOUBLE, run_id INTEGER NOT NULL)""",
        """CREATE TABLE identity_changes (run_id INTEGER NOT NULL, change VARCHAR NOT NULL, person_id VARCHAR NOT NULL,
           other_person_id VARCHAR NOT NULL, events_moved INTEGER NOT NULL, reason VARCHAR NOT NULL,
           recorded_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE linkage_models (version INTEGER PRIMARY KEY, description VARCHAR, model_json VARCHAR NOT NULL,
           created_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE review_queue (event_id_l VARCHAR NOT NULL, event_id_r VARCHAR NOT NULL,
           match_probability DOUBLE NOT NULL, status VARCHAR NOT NULL, decided_by VARCHAR, note VARCHAR,
           queued_at TIMESTAMP NOT NULL, decided_at TIMESTAMP, PRIMARY KEY (event_id_l, event_id_r))""",
        """CREATE TABLE lookup_log (looked_up_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, purpose VARCHAR NOT NULL,
           subject VARCHAR NOT NULL)""",
    ],
    2: [
        # Corrections: a record may replace an earlier one (the original stays in the log).
        "ALTER TABLE events ADD COLUMN corrects VARCHAR",
    ],
    3: [
        # Retention: erasures are logged by count and reason only.
        "CREATE TABLE erasure_log (erased_at TIMESTAMP NOT NULL, events BIGINT NOT NULL, reason VARCHAR NOT NULL)",
    ],
    4: [
        # Accountability: a tamper-evident audit log (hash chain + Merkle tree heads) replaces the lookup log;
        # review decisions become history. DuckDBStore moves the old lookup log's rows onto the audit log.
        "CREATE TABLE ledger_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        "CREATE TABLE audit_log (seq BIGINT PRIMARY KEY, entry VARCHAR NOT NULL, entry_hash VARCHAR NOT NULL)",
        # No key on tree_size: a head is never overwritten, even when entries after it were removed.
        """CREATE TABLE audit_tree_heads (tree_size BIGINT NOT NULL, root_hash VARCHAR NOT NULL,
           frontier VARCHAR NOT NULL)""",
        """CREATE TABLE review_decisions (event_id_l VARCHAR NOT NULL, event_id_r VARCHAR NOT NULL,
           status VARCHAR NOT NULL, decided_by VARCHAR NOT NULL, note VARCHAR, decided_at TIMESTAMP NOT NULL)""",
        """INSERT INTO review_decisions
           SELECT event_id_l, event_id_r, status, coalesce(decided_by, 'unrecorded'), note, coalesce(decided_at, queued_at)
           FROM review_queue WHERE status <> 'open'""",
    ],
    5: [
        # Service accounts: a token is shown once; only its id and an Argon2 hash of its secret are kept.
        """CREATE TABLE users (name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, token_id VARCHAR NOT NULL UNIQUE,
           token_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP)""",
    ],
    6: [
        # A traveller's request to correct their record; the access code is kept as a hash. Erased with the record.
        """CREATE TABLE correction_cases (case_id VARCHAR PRIMARY KEY, event_id VARCHAR, field VARCHAR NOT NULL,
           claimed_value VARCHAR NOT NULL, explanation VARCHAR NOT NULL, code_hash VARCHAR NOT NULL,
           state VARCHAR NOT NULL, decided_by VARCHAR, decision_note VARCHAR, created_at TIMESTAMP NOT NULL,
           decided_at TIMESTAMP)""",
    ],
    7: [
        # A traveller's lookup finds their records by document number: keep the OCR-folded key beside each event
        # (a scan with a regular expression over a million events took 250 ms). Re-key when the folding changes.
        "ALTER TABLE events ADD COLUMN document_key VARCHAR",
        f"UPDATE events SET document_key = {document_key_sql('document_number')}",
    ],
    8: [
        "CREATE INDEX events_document_key ON events (document_key)",  # apart from 7: DuckDB indexes no pending updates
    ],
    9: [
        # The stays snapshot (`stays determine`): the newest determination of every stay, replaced wholesale; each
        # run's as-of day, rule pack, engine and count are kept. Steps, evidence and links are JSON text.
        "CREATE SEQUENCE stays_seq START 1",
        """CREATE TABLE stays_runs (run_id INTEGER PRIMARY KEY, as_of DATE NOT NULL, rule_pack VARCHAR NOT NULL,
           engine VARCHAR NOT NULL, stays BIGINT NOT NULL, determined_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE stays (run_id INTEGER NOT NULL, person_id VARCHAR NOT NULL, arrival_event_id VARCHAR NOT NULL,
           arrived_on DATE NOT NULL, status VARCHAR NOT NULL, authorized_until DATE, overstay_days INTEGER NOT NULL,
           admission_class VARCHAR NOT NULL, closing_event_id VARCHAR, closed_by VARCHAR NOT NULL,
           held_because VARCHAR, pending BOOLEAN NOT NULL, rule_pack VARCHAR NOT NULL, rule_version VARCHAR NOT NULL,
           evidence VARCHAR NOT NULL, uncertain_links VARCHAR NOT NULL, steps VARCHAR NOT NULL)""",
    ],
    10: [
        # A person's records (each posted event's person, a traveller's status) are read by person id: without an
        # index every read scanned all identities (~15 ms each at a million events). PostgreSQL has had it since 1.
        "CREATE INDEX identities_person ON identities (person_id)",
    ],
    11: [
        # The audit log's subject index: the persons and events each entry names (audit.log.subjects_of), so that a
        # traveller's access log reads the entries about them, not every entry. Filled from the log here.
        "CREATE TABLE audit_subjects (subject VARCHAR NOT NULL, seq BIGINT NOT NULL)",
    ],
    12: [
        "CREATE INDEX audit_subjects_subject ON audit_subjects (subject)",  # apart from 11: as for 8
    ],
}
