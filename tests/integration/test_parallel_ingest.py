"""Large JSON Lines files are validated by worker processes: the ledger must be exactly what one process makes."""

import json

import stayledger.usecases.ingest as ingest
from stayledger.storage.duckdb_store import DuckDBStore
from tests.access import ADMIN

RECORD = {"kind": "departure", "occurred_on": "2024-05-20", "source": "carrier", "surname": "DOE",
          "date_of_birth": "1980-01-01", "nationality": "GBR", "document_number": "123"}


def write(path, n):
    lines = []
    for i in range(n):
        if i % 97 == 13:
            lines.append('{"broken')
        elif i % 89 == 5:
            lines.append(json.dumps({**RECORD, "event_id": f"E{i}", "nationality": "ZZZ"}))
        else:
            lines.append(json.dumps({**RECORD, "event_id": f"E{i}"}))
    path.write_text("\n".join(lines) + "\n")


def ledger(store):
    events = store.events_table().column("event_id").to_pylist()
    quarantine = sorted((q.entry.location, q.entry.reasons) for q in store.quarantine_entries())
    return events, quarantine


def test_parallel_ingest_gives_the_same_ledger_and_line_numbers_as_one_process(tmp_path, monkeypatch):
    source = tmp_path / "events.jsonl"
    write(source, 3000)
    sequential = DuckDBStore(tmp_path / "one.duckdb")
    one = ingest.ingest_file(sequential, ADMIN, source, workers=1)

    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ingest, "PARALLEL_CHUNK_BYTES", 20_000)  # many ranges
    parallel = DuckDBStore(tmp_path / "two.duckdb")
    two = ingest.ingest_file(parallel, ADMIN, source, workers=2)

    assert (two.records, two.added, two.quarantined) == (one.records, one.added, one.quarantined)
    assert ledger(parallel) == ledger(sequential)
    assert ("line 14", "not valid JSON (Unterminated string starting at at column 2)") in ledger(parallel)[1]
    again = ingest.ingest_file(parallel, ADMIN, source, workers=2)
    assert again.added == 0 and again.duplicates == one.added
