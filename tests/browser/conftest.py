"""A real service on a local port and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from stayledger.domain.access import Role
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.users import add_user
from tests.access import ADMIN
from tests.live_service import serving

CHROMIUM = os.environ.get("STAYLEDGER_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("STAYLEDGER_SHOTS", "/tmp/shots"))
ARRIVAL = {"event_id": "BRD-7", "kind": "arrival", "occurred_on": "2026-03-11", "source": "border", "surname": "Mishra",
           "given_names": "Gaurav", "date_of_birth": "2004-12-07", "sex": "M", "nationality": "IND",
           "document_number": "H8151480", "admission_class": "B2", "admitted_until": "2026-09-10", "mode": "air"}
IDENTITY = {"document_number": "H8151480", "document_issuer": "IND", "date_of_birth": "2004-12-07", "surname": "Mishra"}


class Service:
    def __init__(self, url: str, tokens: dict[Role, str]) -> None:
        self.url, self.tokens = url, tokens


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.ingest import ingest_records
    from stayledger.usecases.resolve import resolve_identities

    store = DuckDBStore(tmp_path_factory.mktemp("portal") / "portal.duckdb")
    ingest_records(store, ADMIN, "seed", [RawRecord("line 1", json.dumps(ARRIVAL), ARRIVAL)])
    resolve_identities(store, ADMIN)
    tokens = {role: add_user(store, ADMIN, f"{role.value}-1", role.value) for role in (Role.OFFICER, Role.REVIEWER, Role.INGEST, Role.AUDITOR, Role.ANALYST)}
    with serving(store) as url:
        yield Service(url, tokens)
    store.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def phone(browser):
    """A 360 px wide phone screen, JavaScript off: the portal must work without it."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
