"""Erasure that erases: after `retention --apply`, no erased surname or document number is left in the file's bytes.

The ledger is opened with DuckDB's compression off, so that a value present in the file is present as plain bytes
(the positive control shows the byte search finds them before erasure; with compression on it would find nothing
either way and prove nothing).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from stayledger.audit.log import parse_entry, verify_entries
from stayledger.formats.canonical import RawRecord
from stayledger.storage.base import QuarantineEntry, make_batch
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.synth.generator import generate_population
from stayledger.usecases.ingest import ingest_records
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.retention import enforce_retention
from stayledger.usecases.review import decide
from tests.access import ADMIN

PLAIN_BYTES = {"force_compression": "uncompressed"}
LONG_AFTER = date(2045, 1, 1)


def open_plain(path: Path) -> DuckDBStore:
    return DuckDBStore(path, duckdb_config=PLAIN_BYTES)


def values_in_file(path: Path, values: set[str]) -> set[str]:
    data = path.read_bytes()
    wal = Path(str(path) + ".wal")
    if wal.exists():
        data += wal.read_bytes()
    return {v for v in values if v.encode("utf-8") in data}


def test_after_retention_no_erased_surname_or_document_number_is_in_the_file(tmp_path):
    population = tmp_path / "pop"
    generate_population(400, 5, population)
    db = tmp_path / "ledger.duckdb"
    store = open_plain(db)
    lines = (population / "events.jsonl").read_text(encoding="utf-8").splitlines()
    ingest_records(store, ADMIN, "events.jsonl", [RawRecord(f"line {n}", line, json.loads(line)) for n, line in enumerate(lines, 1)])
    resolve_identities(store, ADMIN)
    assert store.latest_model() is not None, "a trained model (with name frequencies) is part of what must be erased"
    from stayledger.storage.arrow_events import table_to_events
    from stayledger.usecases.retention import _erasure_plan

    # The values as stored (normalised), which is what could linger in the file.
    stored = {e.event_id: e for e in table_to_events(store.events_table())}
    events = {i: {"event_id": i, "surname": e.surname, "document_number": e.document_number} for i, e in stored.items()}

    due = set(_erasure_plan(store, LONG_AFTER, "us").event_ids)
    assert due
    person_of = {e: a.person_id for e, a in store.identity_assignments().items()}
    # A quarantined copy of an erased traveller's record (no event id), and a reviewer's note naming them.
    victim = next(events[i] for i in sorted(due) if events[i]["document_number"] and len(events[i]["surname"]) >= 5)
    other = next(i for i in sorted(due) if person_of[i] != person_of[victim["event_id"]])
    store.append_events(make_batch([], [], [], []), [QuarantineEntry(
        "feed.csv", "row 9", f"{victim['surname']};{victim['document_number']};19XX", "date_of_birth: not a date")])
    decide(store, ADMIN, victim["event_id"], other, accept=False, note=f"{victim['surname']} says this is not him")

    erased_ids = set(_erasure_plan(store, LONG_AFTER, "us").event_ids)
    kept = [e for i, e in events.items() if i not in erased_ids]
    kept_values = {e["surname"] for e in kept} | {e.get("document_number") or "" for e in kept}
    erased_values = ({events[i]["surname"] for i in erased_ids} | {events[i].get("document_number") or "" for i in erased_ids}) - kept_values
    # Short strings occur by chance in any binary file; a value inside a kept record (GARCIA in GARCIA ROMERO,
    # a surname that is someone's given name) or in the model's own level labels ("JAMES ROBERT") rightly stays.
    from stayledger.identity.model import LinkageModel

    labels = json.dumps(LinkageModel.from_json(store.latest_model()[1]).settings)
    kept_text = labels + "\n".join(str(v) for i, e in stored.items() if i not in erased_ids for v in e.to_record().values())
    erased_values = {v for v in erased_values if len(v) >= 5 and v not in kept_text}
    assert victim["surname"] in erased_values and victim["document_number"] in erased_values
    store.close()

    before = values_in_file(db, erased_values)
    assert len(before) >= 0.9 * len(erased_values), "positive control: the byte search must find the values first"

    store = open_plain(db)
    report = enforce_retention(store, ADMIN, LONG_AFTER, apply=True)
    assert report.erased == len(erased_ids) and report.model_rebuilt
    entries = [parse_entry(text) for _, text, _ in store.audit_rows()]
    assert verify_entries(store.audit_rows(), store.audit_heads()).ok
    assert store.event_count() == len(kept)
    store.close()

    assert values_in_file(db, erased_values) == set()
    still_there = {v for v in kept_values if len(v) >= 5}
    assert values_in_file(db, still_there) == still_there, "the kept records survive the rewrite"
    last = entries[-1]
    assert last["action"] == "retention.apply" and last["objects"]["erased"] == len(erased_ids)
    assert not Path(str(db) + ".compacting").exists()


def ledger_of_old_stays(db: Path, surname: str, prefix: str, n: int) -> tuple[list[dict], set[str]]:
    """n travellers who left in 2015 (retention long over), and their surnames and document numbers."""
    records = [{"event_id": f"A{i}", "kind": "arrival", "occurred_on": "2015-03-01", "source": "border",
                "surname": f"{surname}{i:03d}", "date_of_birth": "1970-01-01", "nationality": "POL",
                "document_number": f"{prefix}{i:07d}", "admission_class": "WT", "admitted_until": "2015-05-29"}
               for i in range(n)]
    store = open_plain(db)
    ingest_records(store, ADMIN, "old.jsonl", [RawRecord(f"line {i}", json.dumps(r), r) for i, r in enumerate(records, 1)])
    store.close()
    return records, {r["surname"] for r in records} | {r["document_number"] for r in records}


def test_erasing_everything_leaves_no_name_and_a_working_ledger(tmp_path):
    db = tmp_path / "all.duckdb"
    records, values = ledger_of_old_stays(db, "ZAWADZKA", "ZX", 60)
    assert values_in_file(db, values) == values
    store = open_plain(db)
    report = enforce_retention(store, ADMIN, date(2026, 1, 1), apply=True)
    assert report.erased == 60
    assert store.event_count() == 0
    ingest_records(store, ADMIN, "new.jsonl", [RawRecord("line 1", "{}", {**records[0], "event_id": "NEW-1", "surname": "LATER"})])
    assert store.event_count() == 1  # the rewritten ledger takes new records
    store.close()
    assert values_in_file(db, values - {records[0]["document_number"]}) == set()


def test_a_rewrite_killed_before_its_swap_is_finished_when_the_ledger_is_next_opened(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    db = tmp_path / "killed.duckdb"
    _, values = ledger_of_old_stays(db, "WISNIEWSKA", "WQ", 30)
    script = (
        "import sys; from datetime import date; from pathlib import Path\n"
        "from stayledger.storage.duckdb_store import DuckDBStore\n"
        "from stayledger.usecases.retention import enforce_retention\n"
        "from tests.access import ADMIN\n"
        "store = DuckDBStore(Path(sys.argv[1]), duckdb_config={'force_compression': 'uncompressed'})\n"
        "enforce_retention(store, ADMIN, date(2026, 1, 1), apply=True)\n"
    )
    env = {**os.environ, "STAYLEDGER_FAILPOINT": "compaction.before_swap"}
    killed = subprocess.run([sys.executable, "-c", script, str(db)], env=env, cwd=Path(__file__).parents[2], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert values_in_file(db, values) == values  # erased from the tables, not yet from the bytes
    store = open_plain(db)  # opening finishes the rewrite
    assert store.event_count() == 0
    store.close()
    assert values_in_file(db, values) == set()
    assert not Path(str(db) + ".compacting").exists()
