"""kill -9 at several points of `review accept` and `resolve`: the ledger holds the old state or the new, never half.

Each crash point is a named failpoint (``STAYLEDGER_FAILPOINT``) where the process SIGKILLs itself, as a power
cut would: no rollback, no ``finally``. What the next process finds is what the store had committed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stayledger.audit.log import parse_entry, verify_entries
from stayledger.storage.duckdb_store import DuckDBStore

from tests.integration.test_review import ARRIVAL, DEPARTURE  # a traveller who left on his other passport

SAME_DOCUMENT = {**DEPARTURE, "event_id": "APIS-2", "occurred_on": "2024-05-01", "nationality": "IND", "document_number": "H8151480"}


def stayledger(*args: str, db: Path, failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "STAYLEDGER_ACTOR": "reviewer-3"}
    env.pop("STAYLEDGER_FAILPOINT", None)
    if failpoint:
        env["STAYLEDGER_FAILPOINT"] = failpoint
    return subprocess.run([sys.executable, "-m", "stayledger", *args, "--db", str(db)], env=env, capture_output=True,
                          text=True, timeout=300)


def ledger_state(store) -> dict:
    """What a crash must leave either wholly before or wholly after an operation (any backend)."""
    entries = list(store.audit_rows())
    return {
        "identities": {e: a.person_id for e, a in store.identity_assignments().items()},
        "reviews": sorted((i.event_id_l, i.event_id_r, i.status) for i in store.review_items()),
        "history": store.review_history("APIS-1", "BRD-1"),
        "actions": [parse_entry(text)["action"] for _, text, _ in entries],
        "intact": verify_entries(entries, store.audit_heads()).ok,
        "events": store.event_count(),
    }


def snapshot(db: Path) -> dict:
    store = DuckDBStore(db)
    try:
        return ledger_state(store)
    finally:
        store.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    db = tmp_path / "ledger.duckdb"
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in (ARRIVAL, DEPARTURE)), encoding="utf-8")
    assert stayledger("ingest", str(source), db=db).returncode == 0
    assert stayledger("resolve", db=db).returncode == 0
    return db


@pytest.mark.parametrize("point", ["review.decision_recorded", "review.relinked", "review.decide.before_commit"])
def test_review_accept_killed_anywhere_leaves_the_decision_unrecorded_and_unapplied(ledger, point):
    before = snapshot(ledger)
    assert before["identities"]["BRD-1"] != before["identities"]["APIS-1"]
    killed = stayledger("review", "accept", "BRD-1", "APIS-1", "--note", "boarding pass seen", db=ledger, failpoint=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after = snapshot(ledger)
    assert after == before  # no decision, no re-link, no audit entry: the old state exactly
    done = stayledger("review", "accept", "BRD-1", "APIS-1", "--note", "boarding pass seen", db=ledger)
    assert done.returncode == 0, done.stderr
    applied = snapshot(ledger)
    assert applied["identities"]["BRD-1"] == applied["identities"]["APIS-1"]
    assert [d.status for d in applied["history"]] == ["accepted"]
    assert applied["actions"][-1] == "review.decide" and applied["intact"]


@pytest.mark.parametrize("point", ["resolve.identities_written", "identities.resolve.before_commit"])
def test_resolve_killed_between_its_writes_keeps_the_previous_resolution(ledger, tmp_path, point):
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps(SAME_DOCUMENT) + "\n", encoding="utf-8")
    assert stayledger("ingest", str(more), db=ledger).returncode == 0
    before = snapshot(ledger)
    assert "APIS-2" not in before["identities"]
    killed = stayledger("resolve", "--full", db=ledger, failpoint=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert snapshot(ledger) == before
    assert stayledger("resolve", "--full", db=ledger).returncode == 0
    after = snapshot(ledger)
    assert after["identities"]["APIS-2"] == after["identities"]["BRD-1"]
    assert after["actions"][-1] == "identities.resolve" and after["intact"]


def test_a_second_decision_on_a_pair_is_appended_and_the_latest_applies(ledger):
    assert stayledger("review", "accept", "BRD-1", "APIS-1", "--note", "boarding pass seen", db=ledger).returncode == 0
    assert stayledger("review", "reject", "BRD-1", "APIS-1", "--note", "different person on file", db=ledger).returncode == 0
    state = snapshot(ledger)
    assert [(d.status, d.note) for d in state["history"]] == [("accepted", "boarding pass seen"), ("rejected", "different person on file")]
    assert state["identities"]["BRD-1"] != state["identities"]["APIS-1"]
    shown = stayledger("review", "show", "BRD-1", "APIS-1", "--purpose", "second look", db=ledger)
    assert shown.returncode == 0, shown.stderr
    assert "boarding pass seen" in shown.stdout and "different person on file" in shown.stdout
    assert "the latest of 2 decisions applies" in shown.stdout
