"""A reviewer decides a queued link in the console, in a real browser: the queue, the two records side by side
with the match weights, the decision with a note — and the ledger and the audit log hold it afterwards."""

from __future__ import annotations

import json

import httpx
import pytest

from stayledger.api.app import item_id
from stayledger.domain.access import Role
from stayledger.formats.canonical import RawRecord
from stayledger.storage.base import ReviewItem
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.ingest import ingest_records
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.users import add_user
from tests.access import ADMIN
from tests.browser.conftest import ARRIVAL, serving, shot
from tests.browser.test_console_and_a11y import violations
from tests.browser.test_console_and_a11y import sign_in

# The traveller's departure on a renewed passport, the given name shortened: a grey-zone question for a reviewer.
DEPARTURE = {**ARRIVAL, "event_id": "APIS-9", "kind": "departure", "occurred_on": "2026-08-30", "source": "carrier",
             "given_names": "G", "document_number": "Z4409132"}
for field in ("admission_class", "admitted_until"):
    DEPARTURE.pop(field)


class Queued:
    def __init__(self, url: str, tokens: dict[Role, str], item: str) -> None:
        self.url, self.tokens, self.item = url, tokens, item


@pytest.fixture(scope="module")
def queued(tmp_path_factory: pytest.TempPathFactory):
    store = DuckDBStore(tmp_path_factory.mktemp("review") / "review.duckdb")
    ingest_records(store, ADMIN, "seed", [RawRecord(f"line {i}", json.dumps(e), e) for i, e in enumerate((ARRIVAL, DEPARTURE), 1)])
    resolve_identities(store, ADMIN)
    left, right = sorted((ARRIVAL["event_id"], DEPARTURE["event_id"]))
    if not any((i.event_id_l, i.event_id_r) == (left, right) for i in store.review_items("open")):
        store.add_review_items([ReviewItem(left, right, 0.62)])
    tokens = {role: add_user(store, ADMIN, f"{role.value}-1", role.value) for role in (Role.REVIEWER, Role.AUDITOR)}
    with serving(store) as url:
        yield Queued(url, tokens, item_id(left, right))
    store.close()


def test_a_reviewer_decides_a_queued_link_and_the_ledger_and_the_log_hold_it(queued, browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)  # to inject axe
    page = context.new_page()
    sign_in(page, queued, Role.REVIEWER)
    page.click("text=Review queue")
    assert page.locator("thead").inner_text().split("\t")[:2] == ["Records", "Stays held"]
    assert violations(page) == []
    shot(page, "console-review-queue")
    page.click(f"a[href='/console/review/{queued.item}']")
    page.fill("#purpose", "weekly review of grey links")
    page.click("main button[type=submit]")
    both = page.locator("table.pair").inner_text()
    assert "BRD-7" in both and "APIS-9" in both and "Z4409132" in both  # the two records side by side
    # (no match-weight table here: two records are too few to train a model, so this link has no weights)
    shot(page, "console-review-pair")
    assert violations(page) == []
    page.check("input[name=decision][value=accept]")
    page.fill("#note", "renewed passport; same birth date and surname")
    page.click("form[action$='/decision'] button[type=submit]")
    assert "accepted" in page.locator("main").inner_text()
    assert violations(page) == []
    context.close()

    with httpx.Client(base_url=queued.url, headers={"Authorization": f"Bearer {queued.tokens[Role.REVIEWER]}"}) as api:
        accepted = api.get("/v1/review", params={"status": "accepted"}).json()["items"]
    assert [(i["item_id"], i["decided_by"]) for i in accepted] == [(queued.item, "reviewer-1")]
    with httpx.Client(base_url=queued.url, headers={"Authorization": f"Bearer {queued.tokens[Role.AUDITOR]}"}) as api:
        entries = api.get("/v1/audit", params={"actor": "reviewer-1"}).json()["entries"]
    assert [e["outcome"] for e in entries if e["action"] == "review.decide"] == ["ok"]
    assert [e["purpose"] for e in entries if e["action"] == "review.show"] == ["weekly review of grey links"]
