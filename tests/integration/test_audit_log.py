"""The audit log on a real DuckDB ledger: tampering in the store is detected, checkpoints catch a cut tail,
inclusion proofs check offline, and the old lookup log moved onto the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from stayledger.audit.log import parse_entry
from stayledger.audit.merkle import leaf_hash
from stayledger.cli.main import app
from stayledger.storage.duckdb_store import DuckDBStore

runner = CliRunner()

EVENTS = [
    {"event_id": f"ARR-{i}", "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": f"NOWAK{i}",
     "date_of_birth": "1980-02-11", "nationality": "POL", "document_number": f"EA12345{i:02d}", "admission_class": "WT",
     "admitted_until": "2024-05-29"}
    for i in range(4)
]


def cli(*args: str, db: Path, key: Path | None = None, actor: str = "auditor-1"):
    extra = ["--key", str(key)] if key else []
    return runner.invoke(app, [*args, "--db", str(db), *extra], env={"STAYLEDGER_ACTOR": actor})


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A ledger with a dozen audit entries: ingest, resolve, lookups, a listing."""
    db = tmp_path / "ledger.duckdb"
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    assert cli("ingest", str(source), db=db).exit_code == 0
    assert cli("resolve", db=db).exit_code == 0
    store = DuckDBStore(db)
    persons = sorted({a.person_id for a in store.identity_assignments().values()})
    store.close()
    for person in persons:
        assert cli("person", person, "--purpose", "traveller enquiry", "--as-of", "2024-04-01", db=db, actor="officer-7").exit_code == 0
    assert cli("person", "P-NOBODY", "--purpose", "traveller enquiry", db=db, actor="officer-7").exit_code == 1
    assert cli("review", "list", db=db).exit_code == 0
    return db


def rows(db: Path) -> list[tuple[int, str, str]]:
    with duckdb.connect(str(db)) as con:
        return con.execute("SELECT seq, entry, entry_hash FROM audit_log ORDER BY seq").fetchall()


def tamper(db: Path, *statements: tuple[str, list]) -> None:
    with duckdb.connect(str(db)) as con:
        for sql, params in statements:
            con.execute(sql, params)


def verify(db: Path, *extra: str):
    return cli("audit", "verify", *extra, db=db)


def test_an_untouched_log_verifies(ledger):
    result = verify(ledger)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    entries = [parse_entry(text) for _, text, _ in rows(ledger)]
    assert [e["action"] for e in entries][:2] == ["events.ingest", "identities.resolve"]
    assert {"not_found", "ok"} <= {e["outcome"] for e in entries}
    assert all(e["actor"] in ("auditor-1", "officer-7") for e in entries)


def test_an_edited_entry_is_named(ledger):
    seq, text, _ = rows(ledger)[3]
    assert '"actor":"officer-7"' in text
    tamper(ledger, ("UPDATE audit_log SET entry = ? WHERE seq = ?", [text.replace("officer-7", "nobody"), seq]))
    result = verify(ledger)
    assert result.exit_code == 1
    assert f"entry {seq}" in result.output and "altered" in result.output


def test_an_edit_with_its_hash_recomputed_is_caught_by_the_tree_head_and_the_next_link(ledger):
    seq, text, _ = rows(ledger)[3]
    forged = text.replace("officer-7", "nobody")
    tamper(ledger, ("UPDATE audit_log SET entry = ?, entry_hash = ? WHERE seq = ?",
                    [forged, leaf_hash(forged.encode()).hex(), seq]))
    result = verify(ledger)
    assert result.exit_code == 1 and f"entry {seq}" in result.output and "tree head" in result.output
    tamper(ledger, ("DELETE FROM audit_tree_heads", []))  # heads gone too: the next entry's link still breaks
    result = verify(ledger)
    assert result.exit_code == 1 and f"entry {seq + 1} does not follow" in result.output


def test_a_deleted_entry_is_named(ledger):
    tamper(ledger, ("DELETE FROM audit_log WHERE seq = 4", []))
    result = verify(ledger)
    assert result.exit_code == 1 and "entry 4 is missing" in result.output


def test_an_inserted_entry_is_detected(ledger):
    original = rows(ledger)
    forged = json.dumps({**parse_entry(original[3][1]), "seq": 5, "prev": original[3][2]}, separators=(",", ":"), sort_keys=True)
    renumbered = [(seq + 1 if seq >= 5 else seq, text, digest) for seq, text, digest in original]
    statements: list[tuple[str, list]] = [("DELETE FROM audit_log", [])]
    statements += [("INSERT INTO audit_log VALUES (?, ?, ?)", list(r)) for r in renumbered]
    statements.append(("INSERT INTO audit_log VALUES (?, ?, ?)", [5, forged, leaf_hash(forged.encode()).hex()]))
    tamper(ledger, *statements)
    result = verify(ledger)
    assert result.exit_code == 1 and "entry 5" in result.output  # the inserted one, by the tree head at 5
    tamper(ledger, ("DELETE FROM audit_tree_heads", []))
    result = verify(ledger)
    assert result.exit_code == 1 and "entry 6 says it is entry 5" in result.output


def test_a_removed_subject_index_row_is_caught_as_an_access_hidden_from_the_traveller(ledger):
    with duckdb.connect(str(ledger)) as con:
        seq, subject = con.execute("SELECT seq, subject FROM audit_subjects WHERE seq IN (SELECT seq FROM audit_log "
                                   "WHERE entry LIKE '%person.view%') ORDER BY seq LIMIT 1").fetchone()
    tamper(ledger, ("DELETE FROM audit_subjects WHERE seq = ? AND subject = ?", [seq, subject]))
    result = verify(ledger)
    assert result.exit_code == 1, result.output
    assert f"entry {seq}" in result.output and "subject index" in result.output
    tamper(ledger, ("INSERT INTO audit_subjects VALUES (?, ?)", [subject, seq]))
    assert verify(ledger).exit_code == 0


def test_a_ledger_from_before_the_subject_index_has_its_entries_indexed_when_opened(ledger, monkeypatch):
    import stayledger.storage.duckdb_store as duckdb_store
    from stayledger.audit.log import subjects_of

    monkeypatch.setattr(duckdb_store, "INDEXING_PAGE", 3)  # a long log is read in pages: several here

    with duckdb.connect(str(ledger)) as con:
        person = con.execute("SELECT min(person_id) FROM identities").fetchone()[0]
    tamper(ledger, ("DROP TABLE audit_subjects", []), ("DELETE FROM schema_version WHERE version >= 11", []))
    store = DuckDBStore(ledger)  # schemas 11 and 12 again: the table, filled from the log, then its index
    indexed = list(store.audit_rows_with_subjects())
    viewed = [parse_entry(text)["action"] for _, text in store.audit_entries_about([person])]
    store.close()
    assert [sorted(subjects) for _, _, _, subjects in indexed] == [
        subjects_of(parse_entry(text)["objects"]) for _, text, _, _ in indexed]
    assert sum(1 for _, _, _, subjects in indexed if subjects) >= 3
    assert "person.view" in viewed
    assert verify(ledger).exit_code == 0


def test_reordered_entries_are_detected(ledger):
    (s3, t3, h3), (s4, t4, h4) = rows(ledger)[2:4]
    tamper(ledger, ("DELETE FROM audit_log WHERE seq IN (?, ?)", [s3, s4]),
           ("INSERT INTO audit_log VALUES (?, ?, ?)", [s3, t4, h4]), ("INSERT INTO audit_log VALUES (?, ?, ?)", [s4, t3, h3]))
    result = verify(ledger)
    assert result.exit_code == 1 and f"entry {s3}" in result.output


def test_a_cut_tail_passes_the_chain_but_not_the_signed_checkpoint(ledger, tmp_path):
    key, checkpoint = tmp_path / "keys" / "audit.pem", tmp_path / "cp.txt"
    made = cli("audit", "checkpoint", "--out", str(checkpoint), db=ledger, key=key)
    assert made.exit_code == 0, made.output
    size = int(checkpoint.read_text().splitlines()[1])
    assert verify(ledger, "--against", str(checkpoint), "--key", str(key)).exit_code == 0
    # Remove the newest entries and every trace of them: what a chain alone cannot see.
    tamper(ledger, ("DELETE FROM audit_log WHERE seq > ?", [size - 2]), ("DELETE FROM audit_tree_heads WHERE tree_size > ?", [size - 2]))
    assert verify(ledger).exit_code == 0
    result = verify(ledger, "--against", str(checkpoint), "--key", str(key))
    # Entries size-1 and size were cut; the first `verify` above appended its own entry at size-1 since.
    assert result.exit_code == 1 and f"the checkpoint covers {size}: entry {size} removed" in result.output


def test_a_checkpoint_signed_by_another_key_is_refused(ledger, tmp_path):
    checkpoint = tmp_path / "cp.txt"
    cli("audit", "checkpoint", "--out", str(checkpoint), db=ledger, key=tmp_path / "one.pem")
    result = verify(ledger, "--against", str(checkpoint), "--key", str(tmp_path / "other.pem"))
    assert result.exit_code == 1 and "cannot be trusted" in result.output


def test_an_inclusion_proof_checks_offline_and_fails_when_the_entry_is_changed(ledger, tmp_path):
    key, proof_file = tmp_path / "audit.pem", tmp_path / "proof.json"
    assert cli("audit", "prove", "3", "--out", str(proof_file), db=ledger, key=key).exit_code == 0
    checkpoint = cli("audit", "checkpoint", db=ledger, key=key)
    verifier = checkpoint.output.split("public key (to verify offline): ")[1].split()[0]
    good = runner.invoke(app, ["audit", "check-proof", str(proof_file), "--verifier-key", verifier])
    assert good.exit_code == 0, good.output
    proof = json.loads(proof_file.read_text())
    proof["entry"] = proof["entry"].replace("officer-7", "nobody").replace("auditor-1", "nobody")
    proof["leaf_hash"] = leaf_hash(proof["entry"].encode()).hex()
    proof_file.write_text(json.dumps(proof))
    bad = runner.invoke(app, ["audit", "check-proof", str(proof_file), "--verifier-key", verifier])
    assert bad.exit_code == 1 and "audit path" in bad.output


def test_audit_list_filters_by_actor_and_time_and_is_itself_audited(ledger):
    listed = cli("audit", "list", "--actor", "officer-7", "--json", "--limit", "0", db=ledger)
    assert listed.exit_code == 0, listed.output
    entries = [json.loads(line) for line in listed.output.splitlines()]
    assert entries and {e["actor"] for e in entries} == {"officer-7"}
    assert {e["action"] for e in entries} == {"person.view"}
    assert cli("audit", "list", "--since", "2999-01-01", "--json", db=ledger).output == ""
    assert parse_entry(rows(ledger)[-1][1])["action"] == "audit.list"


def test_the_old_lookup_log_moves_onto_the_audit_log(tmp_path):
    db = tmp_path / "v3.duckdb"
    from stayledger.storage.migrations import MIGRATIONS

    with duckdb.connect(str(db)) as con:  # a ledger as schema version 3 left it
        con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
        for version in (1, 2, 3):
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
        con.execute("INSERT INTO lookup_log VALUES ('2025-01-02 03:04:05', 'officer-7', 'enquiry', 'person P1')")
        con.execute("INSERT INTO lookup_log VALUES ('2025-01-03 03:04:05', 'officer-8', 'review', 'pair A B')")
    store = DuckDBStore(db)
    entries = [parse_entry(text) for _, text, _ in store.audit_rows()]
    store.close()
    assert [(e["actor"], e["action"], e["objects"], e["at"]) for e in entries] == [
        ("officer-7", "person.view", {"person_id": "P1"}, "2025-01-02T03:04:05.000000Z"),
        ("officer-8", "pair.explain", {"event_ids": ["A", "B"]}, "2025-01-03T03:04:05.000000Z"),
    ]
    with duckdb.connect(str(db)) as con:
        assert "lookup_log" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert verify(db).exit_code == 0
