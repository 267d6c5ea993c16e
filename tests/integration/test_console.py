"""The staff console: sign-in and session cookie, CSRF, and every console page × every role against the policy."""

from __future__ import annotations

import re

import pytest

from stayledger.api.pages.console import CONSOLE_ROUTES
from stayledger.domain.access import Action, Role
from stayledger.usecases.policy import POLICY
from stayledger.api.app import item_id
from tests.integration.test_api import STAFF, WHY, service  # noqa: F401  (the fixture)

# Each console page: the actions its use cases perform, and a request the policy alone may refuse.
PAGES: dict[tuple[str, str], tuple[list[Action], dict]] = {
    ("GET", "/console"): ([], {}),
    ("GET", "/console/person"): ([Action.VIEW_PERSON],
                                 {"params": {"document_number": "H8151480", **WHY}}),
    ("GET", "/console/cases"): ([Action.LIST_CASES], {"params": WHY}),
    ("POST", "/console/corrections"): ([Action.CORRECT_EVENT],
                                       {"data": {"event_id": "BRD-1", "field": "given_names", "value": "GAURAV K", **WHY}}),
    ("POST", "/console/cases/{case_id}/decision"): ([Action.DECIDE_CASE], {"data": {"decision": "reject", "reasons": "no record"}}),
    ("GET", "/console/review"): ([Action.LIST_REVIEW], {}),
    ("GET", "/console/review/{item}"): ([Action.SHOW_REVIEW], {"params": WHY}),
    ("POST", "/console/review/{item}/decision"): ([Action.DECIDE_REVIEW], {"data": {"decision": "reject", "note": "different"}}),
    ("GET", "/console/report"): ([Action.REPORT_OVERSTAYS], {"params": {"fiscal_year": 2024}}),
    ("GET", "/console/figures"): ([Action.LIVE_FIGURES], {}),
    ("GET", "/console/audit"): ([Action.VERIFY_AUDIT, Action.LIST_AUDIT, Action.CHECKPOINT_AUDIT],
                               {"params": {"actor": "officer-1", "since": "2024-01-01"}}),
}


def sign_in(client, token: str) -> str:
    answer = client.post("/console/login", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    home = client.get("/console")
    return re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)


def test_every_console_page_is_in_the_matrix(service):  # noqa: F811
    assert set(CONSOLE_ROUTES) == set(PAGES)


@pytest.mark.parametrize("page", sorted(PAGES), ids=lambda p: f"{p[0]} {p[1]}")
@pytest.mark.parametrize("role", STAFF, ids=lambda r: r.value)
def test_each_console_page_answers_each_role_as_the_policy_says(service, page, role):  # noqa: F811
    client, store, tokens = service
    from stayledger.usecases.traveller import TravellerIdentity, request_correction
    from tests.access import as_role

    case_id, _ = request_correction(store, as_role(Role.TRAVELLER, "own record"), TravellerIdentity("H8151480", "IND", "2004-12-07", "Mishra"),
                                    "given_names", "GAURAV K", "my full name")
    method, path = page
    actions, request = PAGES[page]
    client.cookies.clear()
    anonymous = client.request(method, path.replace("{case_id}", case_id).replace("{item}", item_id("APIS-1", "BRD-1")), follow_redirects=False, **request)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    csrf = sign_in(client, tokens[role])
    if method == "POST":
        request = {"data": {**request["data"], "csrf": csrf}}
    answer = client.request(method, path.replace("{case_id}", case_id).replace("{item}", item_id("APIS-1", "BRD-1")), **request)
    allowed = all(role in POLICY[a].roles for a in actions)
    assert answer.status_code == (200 if allowed else 403), (role, answer.text[-400:])


def test_a_form_without_the_sessions_csrf_token_is_refused(service):  # noqa: F811
    client, store, tokens = service
    sign_in(client, tokens[Role.OFFICER])
    answer = client.post("/console/cases/NOCASE/decision", data={"decision": "reject", "reasons": "xyz", "csrf": "forged"})
    assert answer.status_code == 403 and "CSRF" in answer.text


def test_a_wrong_token_does_not_sign_in(service):  # noqa: F811
    client, _, _ = service
    answer = client.post("/console/login", data={"token": "slt_wrong"}, follow_redirects=False)
    assert answer.status_code == 401 and "set-cookie" not in answer.headers


def test_an_officer_decides_a_case_from_the_console_and_the_audit_names_the_purpose(service):  # noqa: F811
    client, store, tokens = service
    from stayledger.audit.log import parse_entry
    from stayledger.usecases.traveller import TravellerIdentity, request_correction
    from tests.access import as_role

    case_id, _ = request_correction(store, as_role(Role.TRAVELLER, "own record"), TravellerIdentity("H8151480", "IND", "2004-12-07", "Mishra"),
                                    "given_names", "GAURAV K", "my full name")
    csrf = sign_in(client, tokens[Role.OFFICER])
    listed = client.get("/console/cases", params={"purpose": "weekly cases"})
    assert case_id in listed.text
    decided = client.post(f"/console/cases/{case_id}/decision",
                          data={"csrf": csrf, "purpose": "weekly cases", "decision": "accept", "reasons": "passport shows it"})
    assert decided.status_code == 200 and "accepted" in decided.text
    entries = [parse_entry(t) for _, t, _ in store.audit_rows()]
    assert any(e["action"] == Action.DECIDE_CASE.value and e["actor"] == "officer-1" for e in entries)
    assert any(e["action"] == Action.LIST_CASES.value and e["purpose"] == "weekly cases" and e["actor"] == "officer-1"
               for e in entries)


def test_an_officer_corrects_a_record_from_the_person_page_and_the_stays_use_it_at_once(service):  # noqa: F811
    client, store, tokens = service
    from stayledger.audit.log import parse_entry

    csrf = sign_in(client, tokens[Role.OFFICER])
    person = store.identity_assignments()["BRD-1"].person_id
    found = client.get("/console/person", params={"person_id": person, "purpose": "rebuttal at the port"})
    assert 'action="/console/corrections"' in found.text and '<option value="BRD-1">' in found.text
    fixed = client.post("/console/corrections", data={"csrf": csrf, "event_id": "BRD-1", "field": "admitted_until",
                                                      "value": "2031-01-01", "purpose": "rebuttal at the port",
                                                      "person_id": person})
    assert fixed.status_code == 200 and "Correction recorded" in fixed.text, fixed.text[-400:]
    correction = re.search(r"(BRD-1~fix\d+) now corrects BRD-1", fixed.text).group(1)
    # No `resolve` in between: the correction is the original's person at once, and its stay rests on it.
    assert store.assignments_for([correction])[correction].person_id == person
    again = client.get("/console/person", params={"person_id": person, "purpose": "rebuttal at the port"})
    assert "BRD-1 (corrected)" in again.text and f"<dt>Arrival</dt><dd>{correction}</dd>" in again.text
    assert re.search(rf"<dt>Rests on</dt><dd>{re.escape(correction)} \(arrival, officer, ", again.text)  # the evidence
    refused = client.post("/console/corrections", data={"csrf": csrf, "event_id": "BRD-1", "field": "event_id",
                                                        "value": "X", "purpose": "rebuttal at the port"})
    assert refused.status_code == 422 and "cannot be corrected here" in refused.text
    entries = [parse_entry(t) for _, t, _ in store.audit_rows()]
    assert any(e["action"] == Action.CORRECT_EVENT.value and e["actor"] == "officer-1"
               and e["purpose"] == "rebuttal at the port" and "2031" not in str(e) for e in entries)


def test_an_analyst_sees_todays_counts_and_confirmed_departures_but_no_names(service):  # noqa: F811
    client, store, tokens = service
    import json
    from datetime import datetime, timezone

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from stayledger.audit.log import parse_entry
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.audit import Signer
    from stayledger.usecases.ingest import ingest_records
    from stayledger.usecases.resolve import resolve_identities
    from stayledger.usecases.traveller import TravellerIdentity, report_departure, request_correction
    from tests.access import ADMIN, as_role
    from tests.integration.test_api import IDENTITY
    from tests.integration.test_review import DEPARTURE

    today = datetime.now(timezone.utc).date()
    exit_today = {**DEPARTURE, "event_id": "APIS-T", "occurred_on": today.isoformat(), "nationality": "IND",
                  "document_number": "H8151480"}
    records = [exit_today, {"event_id": "BAD-1", "kind": "arrival"}]  # the second is quarantined
    ingest_records(store, ADMIN, "feed", [RawRecord(f"line {i}", json.dumps(r), r) for i, r in enumerate(records)])
    resolve_identities(store, ADMIN)
    traveller, signer = as_role(Role.TRAVELLER, "own record"), Signer(Ed25519PrivateKey.generate())
    report_departure(store, traveller, TravellerIdentity(**IDENTITY), today, signer)  # the carrier's exit confirms it
    report_departure(store, traveller, TravellerIdentity("ZZ0000001", "FRA", "1990-01-01", "Nobody"), today, signer)
    request_correction(store, traveller, TravellerIdentity(**IDENTITY), "given_names", "GAURAV K", "my full name")

    sign_in(client, tokens[Role.ANALYST])
    page = client.get("/console/figures")
    assert page.status_code == 200
    figure = lambda key: int(re.search(rf'<dd id="{key}">(\d+)</dd>', page.text).group(1))  # noqa: E731
    assert figure("events-today") == 3  # one carrier exit and two travellers' reports
    assert "<td>departure_report</td><td>2</td>" in page.text and "<td>carrier</td><td>1</td>" in page.text
    assert (figure("reported"), figure("confirmed"), figure("unconfirmed")) == (2, 1, 1)
    assert figure("cases") == 1 and figure("quarantined") == 1
    # No timed reload (it restarts a screen reader): our own script re-reads the page; the CSP allows only it.
    assert "http-equiv" not in page.text and '<script src="/static/live.js" defer></script>' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "script-src" not in client.get("/console").headers["content-security-policy"]  # no other page runs script
    for personal in ("H8151480", "Mishra", "MISHRA", "ZZ0000001", "Nobody", "2004-12-07"):
        assert personal not in page.text
    entries = [parse_entry(t) for _, t, _ in store.audit_rows()]
    assert any(e["action"] == Action.LIVE_FIGURES.value and e["actor"] == "analyst-1" and e["outcome"] == "ok"
               for e in entries)


def test_an_officer_finds_a_person_by_person_id_with_a_purpose(service):  # noqa: F811
    client, store, tokens = service
    from stayledger.audit.log import parse_entry

    person = store.identity_assignments()["BRD-1"].person_id
    sign_in(client, tokens[Role.OFFICER])
    found = client.get("/console/person", params={"person_id": person, "purpose": "secondary inspection"})
    assert found.status_code == 200 and f"Person {person}" in found.text and "BRD-1" in found.text
    refused = client.get("/console/person", params={"person_id": person})  # no purpose, no lookup
    assert refused.status_code == 422 and "needs a purpose" in refused.text and "BRD-1" not in refused.text
    assert client.get("/console/person", params={"person_id": "P-NOBODY", "purpose": "secondary inspection"}).status_code == 404
    entries = [parse_entry(t) for _, t, _ in store.audit_rows()]
    assert any(e["action"] == Action.VIEW_PERSON.value and e["purpose"] == "secondary inspection" and e["outcome"] == "ok"
               for e in entries)


def test_an_auditor_filters_entries_by_actor_and_date_and_sees_a_signed_checkpoint(service):  # noqa: F811
    client, store, tokens = service
    from stayledger.usecases.audit import log_origin

    sign_in(client, tokens[Role.OFFICER])
    client.get("/console/person", params={"document_number": "H8151480", "purpose": "secondary inspection"})
    client.cookies.clear()
    sign_in(client, tokens[Role.AUDITOR])
    rows = lambda page: re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", page.text)  # noqa: E731  (at, actor)
    by_officer = client.get("/console/audit", params={"actor": "officer-1", "since": "2024-01-01"})
    assert by_officer.status_code == 200 and rows(by_officer) and {a for _, a in rows(by_officer)} == {"officer-1"}
    everyone = client.get("/console/audit")
    assert {"officer-1", "auditor-1"} <= {a for _, a in rows(everyone)}
    assert rows(client.get("/console/audit", params={"since": "2999-01-01"})) == []
    assert client.get("/console/audit", params={"since": "yesterday"}).status_code == 422
    checkpoint = re.search(r'<pre id="checkpoint">([^<]+)</pre>', everyone.text).group(1)
    lines = checkpoint.splitlines()
    assert lines[0] == log_origin(store) and int(lines[1]) > 0 and any(line.startswith("— ") for line in lines)
