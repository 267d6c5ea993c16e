"""Travellers waiting out the answer-time floor hold up no one: neither a thread of the pool nor the event loop.

Checked by order, not by a stopwatch: with the floor at several seconds, a health check sent while dozens of lookups
wait it out must be answered before any of them is.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from stayledger.storage.duckdb_store import DuckDBStore
from tests.access import ADMIN
from tests.integration.test_review import ARRIVAL
from tests.live_service import serving

IDENTITY = {"document_number": "H8151480", "document_issuer": "IND", "date_of_birth": "2004-12-07", "surname": "Mishra"}
FLOOR = 3.0
POOL = 40  # the threads Starlette runs blocking work on; more lookups than these at once would fill it if each held one


@pytest.fixture
def store(tmp_path: Path):
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.ingest import ingest_records
    from stayledger.usecases.resolve import resolve_identities

    store = DuckDBStore(tmp_path / "waits.duckdb")
    ingest_records(store, ADMIN, "seed", [RawRecord("line 1", json.dumps(ARRIVAL), ARRIVAL)])
    resolve_identities(store, ADMIN)
    yield store
    store.close()


def _lookups(url: str, send, count: int) -> tuple[list[threading.Thread], list[tuple[float, int]]]:
    answered: list[tuple[float, int]] = []  # (when, status) of each lookup

    def one() -> None:
        response = send(httpx.Client(base_url=url, timeout=60))
        answered.append((time.monotonic(), response.status_code))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, answered


@pytest.mark.parametrize("surface", ["api", "portal"])
def test_a_health_check_is_answered_while_travellers_wait_out_the_floor(store, surface):
    if surface == "api":  # more lookups than the pool has threads
        count, send = POOL + 8, lambda http: http.post("/v1/traveller/status", json=IDENTITY)
    else:  # the pages' handlers run on the event loop: one lookup waiting on it would stall every request
        count, send = 4, lambda http: http.post("/status", data={**IDENTITY, "lang": "en"})
    with serving(store, traveller_floor=FLOOR, per_client=1000, per_document=1000) as url:
        sent = time.monotonic()
        threads, answered = _lookups(url, send, count)
        time.sleep(1.0)  # the lookups are read and waiting out the floor
        health = httpx.get(f"{url}/v1/health", timeout=60)
        health_answered = time.monotonic()
        for thread in threads:
            thread.join(60)
    assert health.status_code == 200
    assert len(answered) == count and {status for _, status in answered} == {200}
    assert health_answered < min(when for when, _ in answered), "the health check waited for the travellers"
    assert min(when for when, _ in answered) - sent >= FLOOR  # and the floor was waited out
