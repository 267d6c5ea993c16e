"""kill -9 of a writer on PostgreSQL: the server rolls its transaction back and frees its locks for the next.

The crash points are the ones of tests/integration/test_crash_atomicity.py; at ``…before_commit`` the killed
process holds the audit log's advisory lock and the identities lock: the next writer must not wait on a dead one.
"""

from __future__ import annotations

import json
import signal

import pytest

import tests.integration.test_crash_atomicity as crash
from stayledger.storage.postgres import PostgresStore
from tests.integration.test_review import ARRIVAL, DEPARTURE


def snapshot(url: str) -> dict:
    store = PostgresStore(url)
    try:
        return crash.ledger_state(store)
    finally:
        store.close()


@pytest.mark.parametrize("point", ["review.decision_recorded", "review.decide.before_commit"])
def test_review_accept_killed_on_postgresql_leaves_the_old_state_and_the_next_writer_goes_on(pg_url, tmp_path, point):
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in (ARRIVAL, DEPARTURE)), encoding="utf-8")
    assert crash.stayledger("ingest", str(source), db=pg_url).returncode == 0
    assert crash.stayledger("resolve", db=pg_url).returncode == 0
    before = snapshot(pg_url)
    killed = crash.stayledger("review", "accept", "BRD-1", "APIS-1", "--note", "boarding pass seen", db=pg_url,
                              failpoint=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert snapshot(pg_url) == before
    done = crash.stayledger("review", "accept", "BRD-1", "APIS-1", "--note", "boarding pass seen", db=pg_url)
    assert done.returncode == 0, done.stderr
    applied = snapshot(pg_url)
    assert applied["identities"]["BRD-1"] == applied["identities"]["APIS-1"]
    assert applied["actions"][-1] == "review.decide" and applied["intact"]
