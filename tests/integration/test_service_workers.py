"""Several service workers on one ledger (`serve --workers N` on PostgreSQL): each has its own live linker, pool and
memory, yet a traveller is one person whichever worker a record reaches, and the traveller rate limits and the
console sign-ins hold across workers."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stayledger.api.app import create_app
from stayledger.cli.main import app as cli
from stayledger.domain.stays import Status
from stayledger.storage.base import make_batch
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.storage.postgres import PostgresStore
from stayledger.storage.transfer import copy_ledger
from stayledger.domain.events import parse_event
from stayledger.usecases.audit import Signer
from stayledger.usecases.ingest import record_events
from stayledger.usecases.resolve import LiveLinker
from stayledger.usecases.users import add_user
from tests.access import ADMIN

# A traveller the synthetic ledger does not know: arriving, then leaving on the same passport.
ARRIVAL = {"event_id": "W-ARR-1", "kind": "arrival", "occurred_on": "2025-03-02", "source": "border",
           "surname": "Okonkwo-Lindqvist", "given_names": "Adaeze", "date_of_birth": "1991-04-17", "sex": "F",
           "nationality": "NGA", "document_number": "A07731942", "admission_class": "B2",
           "admitted_until": "2025-08-31", "mode": "air"}
DEPARTURE = {**ARRIVAL, "event_id": "W-DEP-1", "kind": "departure", "occurred_on": "2025-04-20", "source": "carrier",
             "surname": "OKONKWO LINDQVIST", "given_names": "ADAEZE", "admission_class": None, "admitted_until": None}
AS_OF = date(2025, 12, 31)
NOBODY = {"document_number": "Q1234567", "document_issuer": "GBR", "date_of_birth": "1970-01-01", "surname": "Nobody"}


def test_a_linker_takes_in_what_another_linked_and_links_the_same_traveller_to_it(trained, tmp_path):
    base, _ = trained
    shutil.copy(base, tmp_path / "two.duckdb")
    store = DuckDBStore(tmp_path / "two.duckdb")
    first, second = LiveLinker(), LiveLinker()  # two workers' linkers
    assert first.rebuild(store) and second.rebuild(store)
    arrived = record_events(store, ADMIN, "api", [ARRIVAL], as_of=AS_OF, live=first)
    assert second.valid_for(store)  # caught up with the arrival, without re-reading the ledger
    departed = record_events(store, ADMIN, "api", [DEPARTURE], as_of=AS_OF, live=second)
    person = arrived.persons["W-ARR-1"]
    assert departed.persons["W-DEP-1"] == person
    assert [s.status for s in departed.stays[person]] == [Status.DEPARTED]
    assert first.valid_for(store) and second.valid_for(store)
    store.close()


def test_an_event_nobody_linked_sends_the_linker_back_to_resolve(trained, tmp_path):
    base, _ = trained
    shutil.copy(base, tmp_path / "unlinked.duckdb")
    store = DuckDBStore(tmp_path / "unlinked.duckdb")
    live = LiveLinker()
    assert live.rebuild(store) and live.valid_for(store)
    store.append_events(make_batch([parse_event(ARRIVAL)], ["bulk"], ["line 1"], [""]), [])  # e.g. a bulk ingest
    assert not live.valid_for(store)
    store.close()


@pytest.fixture
def two_workers(trained, pg_url):
    """Two apps (as two worker processes have) on one PostgreSQL ledger copied from the trained one."""
    base, _ = trained
    source, target = DuckDBStore(base, read_only=True), PostgresStore(pg_url)
    copy_ledger(source, target)
    source.close(), target.close()
    stores = [PostgresStore(pg_url), PostgresStore(pg_url)]
    tokens = {role: add_user(stores[0], ADMIN, f"{role}-1", role) for role in ("ingest", "officer")}
    signer = Signer(Ed25519PrivateKey.generate())
    apps = [create_app(store, signer, per_client=3, traveller_floor=0) for store in stores]
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        yield a, b, tokens, stores[0]
    for store in stores:
        store.close()


def test_arrival_at_one_worker_and_departure_at_another_make_one_person_who_departed(two_workers):
    a, b, tokens, store = two_workers
    bearer = {"Authorization": f"Bearer {tokens['ingest']}"}
    arrived = a.post("/v1/events", json=[ARRIVAL], headers=bearer).json()
    departed = b.post("/v1/events", json=[DEPARTURE], headers=bearer).json()
    person = arrived["persons"]["W-ARR-1"]
    assert departed["persons"] == {"W-DEP-1": person}
    assert [s["status"] for s in departed["stays"][person]] == ["departed"]
    assert {a.person_id for a in store.assignments_for(["W-ARR-1", "W-DEP-1"]).values()} == {person}
    assert b.app.state.ledger.live.valid_for(store)  # b linked with its live linker, caught up, not rebuilt away


def test_records_of_one_traveller_posted_to_two_workers_at_the_same_moment_make_one_person(two_workers):
    a, b, tokens, store = two_workers
    bearer = {"Authorization": f"Bearer {tokens['ingest']}"}
    travellers = [({**ARRIVAL, "event_id": f"C-ARR-{i}", "document_number": f"C0{i}731942"},
                   {**DEPARTURE, "event_id": f"C-DEP-{i}", "document_number": f"C0{i}731942"}) for i in range(5)]
    barrier = threading.Barrier(2)

    def post(client, events):
        for event in events:
            barrier.wait(timeout=30)
            assert client.post("/v1/events", json=[event], headers=bearer).status_code == 200

    threads = [threading.Thread(target=post, args=(a, [t[0] for t in travellers])),
               threading.Thread(target=post, args=(b, [t[1] for t in travellers]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for arrival, departure in travellers:
        persons = store.assignments_for([arrival["event_id"], departure["event_id"]])
        assert len(persons) == 2 and len({p.person_id for p in persons.values()}) == 1, arrival["event_id"]


def test_the_traveller_limit_holds_whichever_worker_a_request_reaches(two_workers):
    a, b, _, _ = two_workers
    assert [client.post("/v1/traveller/status", json=NOBODY).status_code for client in (a, b, a)] == [200, 200, 200]
    assert b.post("/v1/traveller/status", json=NOBODY).status_code == 429  # per_client=3, counted across workers
    assert a.post("/v1/traveller/status", json=NOBODY).status_code == 429


def test_a_console_sign_in_at_one_worker_is_known_to_the_other_and_so_is_the_sign_out(two_workers):
    a, b, tokens, _ = two_workers
    signed_in = a.post("/console/login", data={"token": tokens["officer"]}, follow_redirects=False)
    cookie = {"Cookie": f"stayledger_console={signed_in.cookies['stayledger_console']}"}
    page = b.get("/console", headers=cookie, follow_redirects=False)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    b.post("/console/logout", data={"csrf": csrf}, headers=cookie, follow_redirects=False)
    assert a.get("/console", headers=cookie, follow_redirects=False).status_code == 303  # to the sign-in page


def test_several_workers_need_postgresql(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--workers", "2", "--db", str(tmp_path / "one.duckdb")])
    assert result.exit_code != 0
    assert "--workers 2 needs a PostgreSQL --db" in result.output and "owned by one process" in result.output
    assert "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_serve_with_two_worker_processes_on_postgresql(pg_url, tmp_path):
    store = PostgresStore(pg_url)
    token = add_user(store, ADMIN, "feed-1", "ingest")
    port = _free_port()
    env = {**os.environ, "STAYLEDGER_AUDIT_KEY": str(tmp_path / "audit.pem")}
    server = subprocess.Popen([sys.executable, "-m", "stayledger", "serve", "--workers", "2", "--port", str(port),
                               "--db", pg_url, "--traveller-limit", "4"], env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        assert len(_children(server.pid)) >= 2  # the worker processes (and perhaps a resource tracker)
        bearer = {"Authorization": f"Bearer {token}"}
        arrived = httpx.post(f"{base}/v1/events", json=[ARRIVAL], headers=bearer).json()  # a connection each
        departed = httpx.post(f"{base}/v1/events", json=[DEPARTURE], headers=bearer).json()
        person = arrived["persons"]["W-ARR-1"]
        assert departed["persons"] == {"W-DEP-1": person}
        assert [s["status"] for s in departed["stays"][person]] == ["departed"]
        statuses = [httpx.post(f"{base}/v1/traveller/status", json=NOBODY).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]  # 4 per address, whichever worker answered
    finally:
        server.terminate()
        server.wait(timeout=30)
    store.close()
