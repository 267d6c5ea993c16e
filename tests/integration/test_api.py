"""The HTTP service: every route × every role (and no token) against the policy; near-real-time ingest; problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from stayledger.api.app import create_app, item_id, iter_routes
from stayledger.audit.log import parse_entry
from stayledger.domain.access import Action, Role
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.audit import Signer
from stayledger.usecases.policy import POLICY
from stayledger.usecases.users import add_user
from tests.access import ADMIN
from tests.integration.test_review import ARRIVAL, DEPARTURE

SAME_DOCUMENT_EXIT = {**DEPARTURE, "event_id": "APIS-9", "occurred_on": "2024-06-01", "nationality": "IND",
                      "document_number": "H8151480"}
WHY = {"purpose": "api test", "case_ref": "T-1"}
# Each route: the action its use case performs, and a request that the policy is the only thing to refuse.
ROUTES: dict[tuple[str, str], tuple[Action | None, dict]] = {
    ("GET", "/v1/health"): (None, {}),
    ("POST", "/v1/events"): (Action.INGEST_EVENTS, {"json": [SAME_DOCUMENT_EXIT]}),
    ("POST", "/v1/manifests"): (Action.INGEST_EVENTS, {"params": {"format": "paxlst", "country": "USA"},
                                                      "content": (Path(__file__).parents[1] / "data" / "paxlst" / "multi_leg.edi").read_bytes()}),
    ("GET", "/v1/persons/{person_id}"): (Action.VIEW_PERSON, {"params": WHY}),
    ("GET", "/v1/persons"): (Action.VIEW_PERSON, {"params": {**WHY, "document_number": "H8151480"}}),
    ("GET", "/v1/review"): (Action.LIST_REVIEW, {}),
    ("GET", "/v1/review/{item}"): (Action.SHOW_REVIEW, {"params": WHY}),
    ("POST", "/v1/review/{item}/decision"): (Action.DECIDE_REVIEW, {"json": {"decision": "reject", "note": "test"}}),
    ("POST", "/v1/corrections"): (Action.CORRECT_EVENT, {"params": WHY, "json": {"event_id": "BRD-1", "set": {"sex": "M"}}}),
    ("GET", "/v1/reports/overstays"): (Action.REPORT_OVERSTAYS, {"params": {"fiscal_year": 2024, "as_of": "2025-01-01"}}),
    ("GET", "/v1/audit"): (Action.LIST_AUDIT, {}),
    ("GET", "/v1/audit/verify"): (Action.VERIFY_AUDIT, {}),
    ("GET", "/v1/audit/checkpoint"): (Action.CHECKPOINT_AUDIT, {}),
    ("GET", "/v1/exports/{kind}"): (Action.EXPORT_EVENTS, {"params": WHY}),
    ("POST", "/v1/users"): (Action.ADD_USER, {"json": {"name": "new-user", "role": "analyst"}}),
    ("GET", "/v1/users"): (Action.LIST_USERS, {}),
    ("DELETE", "/v1/users/{name}"): (Action.REVOKE_USER, {}),
    ("POST", "/v1/traveller/status"): (Action.TRAVELLER_STATUS, {"json": {}}),  # filled in by the test
    ("POST", "/v1/traveller/departures"): (Action.TRAVELLER_DEPARTURE, {"json": {}}),
    ("GET", "/v1/traveller/receipts/{receipt_id}"): (Action.TRAVELLER_RECEIPT, {}),
    ("POST", "/v1/traveller/access-log"): (Action.TRAVELLER_ACCESS_LOG, {"json": {}}),
    ("POST", "/v1/traveller/corrections"): (Action.TRAVELLER_CORRECTION, {"json": {}}),
    ("GET", "/v1/traveller/cases/{case_id}"): (Action.TRAVELLER_CASE, {"params": {"code": "X"}}),
    ("GET", "/v1/cases"): (Action.LIST_CASES, {"params": WHY}),
    ("POST", "/v1/cases/{case_id}/decision"): (Action.DECIDE_CASE, {"json": {"decision": "reject", "reasons": "test"}}),
}
IDENTITY = {"document_number": "H8151480", "document_issuer": "IND", "date_of_birth": "2004-12-07", "surname": "Mishra"}
for key in (("POST", "/v1/traveller/status"), ("POST", "/v1/traveller/access-log")):
    ROUTES[key][1]["json"] = IDENTITY
ROUTES[("POST", "/v1/traveller/departures")][1]["json"] = {**IDENTITY, "departed_on": "2024-05-02"}
ROUTES[("POST", "/v1/traveller/corrections")][1]["json"] = {**IDENTITY, "field": "given_names", "claimed_value": "GAURAV K",
                                                            "explanation": "my full given names"}
STAFF = [r for r in Role if r is not Role.TRAVELLER]


@pytest.fixture
def service(tmp_path: Path):
    store = DuckDBStore(tmp_path / "api.duckdb")
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.ingest import ingest_records
    from stayledger.usecases.resolve import resolve_identities

    ingest_records(store, ADMIN, "seed", [RawRecord(f"line {i}", json.dumps(e), e) for i, e in enumerate((ARRIVAL, DEPARTURE))])
    resolve_identities(store, ADMIN)
    tokens = {role: add_user(store, ADMIN, f"{role.value}-1", role.value) for role in STAFF}
    app = create_app(store, Signer(Ed25519PrivateKey.generate()))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, store, tokens
    store.close()


def concrete(path: str, store: DuckDBStore) -> str:
    person = store.identity_assignments()["BRD-1"].person_id
    return (path.replace("{person_id}", person).replace("{item}", item_id("APIS-1", "BRD-1"))
            .replace("{kind}", "events").replace("{name}", "reviewer-1").replace("{receipt_id}", "00").replace("{case_id}", "NOCASE"))


def test_every_route_is_in_the_matrix(service):
    client, _, _ = service
    assert set(iter_routes(client.app)) == set(ROUTES)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_route_answers_each_role_as_the_policy_says(service, route):
    client, store, tokens = service
    action, request = ROUTES[route]
    method, path = route
    url = concrete(path, store)
    anonymous = client.request(method, url, **request)
    if action is None or Role.TRAVELLER in POLICY[action].roles:  # no account: anyone, acting as a traveller
        assert anonymous.status_code in (200, 201, 404), anonymous.text
        return
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    for role in STAFF:
        response = client.request(method, url, headers={"Authorization": f"Bearer {tokens[role]}"}, **request)
        if role in POLICY[action].roles:
            assert response.status_code < 400 or response.status_code == 404, (role, response.status_code, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
            assert response.json()["title"] == "Forbidden"
    bad = client.request(method, url, headers={"Authorization": "Bearer slt_0000_wrong"}, **request)
    assert bad.status_code == 401


def test_a_posted_departure_is_linked_and_the_stay_determined_before_the_response(service):
    client, store, tokens = service
    feed = {"Authorization": f"Bearer {tokens[Role.INGEST]}"}
    response = client.post("/v1/events", json=[SAME_DOCUMENT_EXIT, {"event_id": "BAD-1", "kind": "arrival"}], headers=feed)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1 and [q["index"] for q in body["quarantined"]] == [1]
    assert "surname: required" in body["quarantined"][0]["reasons"]
    person = body["persons"]["APIS-9"]
    assert person == store.identity_assignments()["BRD-1"].person_id
    (stay,) = body["stays"][person]
    assert stay["arrival_event_id"] == "BRD-1" and stay["status"] == "departed"
    assert (stay["departure_event_id"], stay["closed_by"], stay["held_because"]) == ("APIS-9", "departure", None)
    assert [e["event_id"] for e in stay["evidence"]] == ["BRD-1", "APIS-9"]  # what the status rests on
    officer = {"Authorization": f"Bearer {tokens[Role.OFFICER]}"}
    viewed = client.get(f"/v1/persons/{person}", params=WHY, headers=officer).json()
    assert "APIS-9" in {e["event_id"] for e in viewed["events"]}
    entry = parse_entry(list(store.audit_rows())[-1][1])
    assert (entry["actor"], entry["action"], entry["purpose"], entry["case_ref"]) == ("officer-1", "person.view", "api test", "T-1")


def test_ndjson_is_accepted_too(service):
    client, _, tokens = service
    body = "\n".join(json.dumps({**SAME_DOCUMENT_EXIT, "event_id": f"N-{i}"}) for i in range(3))
    response = client.post("/v1/events", content=body, headers={"Authorization": f"Bearer {tokens[Role.INGEST]}",
                                                                 "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200 and response.json()["accepted"] == 3


def test_a_lookup_without_purpose_is_a_problem_and_is_audited(service):
    client, store, tokens = service
    person = store.identity_assignments()["BRD-1"].person_id
    response = client.get(f"/v1/persons/{person}", headers={"Authorization": f"Bearer {tokens[Role.OFFICER]}"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert "needs a purpose" in response.json()["detail"]
    assert parse_entry(list(store.audit_rows())[-1][1])["outcome"].startswith("refused")


def test_a_revoked_token_stops_working(service):
    client, _, tokens = service
    admin = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    created = client.post("/v1/users", json={"name": "temp-1", "role": "auditor"}, headers=admin).json()
    temp = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/v1/audit/verify", headers=temp).json()["ok"] is True
    assert client.delete("/v1/users/temp-1", headers=admin).status_code == 204
    assert client.get("/v1/audit/verify", headers=temp).status_code == 401


def test_bad_bodies_are_problems_not_errors(service):
    client, _, tokens = service
    feed = {"Authorization": f"Bearer {tokens[Role.INGEST]}", "Content-Type": "application/json"}
    for body in ("{not json", "42", '"text"'):
        response = client.post("/v1/events", content=body, headers=feed)
        assert response.status_code == 400 and response.json()["status"] == 400
    assert client.get("/v1/review/%%%", headers={"Authorization": f"Bearer {tokens[Role.REVIEWER]}"}).status_code == 404


def traveller_asks(client, path: str = "/v1/traveller/status", **changes):
    return client.post(path, json={**IDENTITY, **changes})


def test_a_traveller_sees_their_stay_with_honest_typos_forgiven(service):
    client, _, _ = service
    answer = traveller_asks(client).json()
    assert answer["found"] is True and [s["arrived_on"] for s in answer["stays"]] == ["2024-03-11"]
    # He left on his other passport, which no key links: officers see an overstay too, until a reviewer links it.
    assert answer["stays"][0]["status"] == "overstay" and answer["stays"][0]["overstay_days"] > 0
    for typed in ({"document_number": "h815I48O"}, {"surname": "MISHRA "}, {"document_issuer": "ind"}):
        assert traveller_asks(client, **typed).json() == answer


def test_a_miss_a_wrong_birth_date_and_a_wrong_surname_look_the_same(service):
    client, store, _ = service
    answers = [traveller_asks(client, **changes) for changes in (
        {"document_number": "X0000000"}, {"date_of_birth": "2004-12-08"}, {"surname": "Misra"}, {"document_issuer": "NPL"})]
    assert {a.status_code for a in answers} == {200}
    assert all(a.json() == {"found": False, "stays": []} for a in answers)
    entries = [parse_entry(t) for _, t, _ in store.audit_rows()][-4:]
    assert all(e["role"] == "traveller" and e["objects"]["found"] is False for e in entries)
    assert "Misra" not in json.dumps(entries) and "X0000000" not in json.dumps(entries)


def test_a_reported_departure_gets_a_signed_receipt_confirmed_by_the_carrier(service):
    client, _, tokens = service
    created = traveller_asks(client, "/v1/traveller/departures", departed_on="2024-05-30")
    assert created.status_code == 201, created.text
    receipt = created.json()
    assert receipt["status"] == "reported" and receipt["signature"]
    assert client.get(f"/v1/traveller/receipts/{receipt['receipt_id']}").json()["status"] == "reported"
    feed = {"Authorization": f"Bearer {tokens[Role.INGEST]}"}
    assert client.post("/v1/events", json=[{**SAME_DOCUMENT_EXIT, "occurred_on": "2024-05-31"}], headers=feed).status_code == 200
    assert client.get(f"/v1/traveller/receipts/{receipt['receipt_id']}").json()["status"] == "confirmed"
    assert traveller_asks(client).json()["stays"][0]["status"] == "departed"


def test_a_traveller_sees_who_looked_at_their_record(service):
    client, store, tokens = service
    person = store.identity_assignments()["BRD-1"].person_id
    client.get(f"/v1/persons/{person}", params={"purpose": "border check", "case_ref": "C-9"},
               headers={"Authorization": f"Bearer {tokens[Role.OFFICER]}"})
    seen = traveller_asks(client, "/v1/traveller/access-log").json()["entries"]
    assert {"role": "officer", "action": "person.view", "purpose": "border check", "case_ref": "C-9"}.items() <= seen[-1].items()
    assert "officer-1" not in json.dumps(seen)  # the role, not the officer's name
    assert traveller_asks(client, "/v1/traveller/access-log", surname="Other").json() == {"entries": []}


def test_a_travellers_access_log_is_read_through_the_subject_index_not_a_scan_of_the_whole_log(service, monkeypatch):
    # A scan took the longer the longer the log, and only for a record found: its time told a guesser they were right.
    client, store, tokens = service
    person = store.identity_assignments()["BRD-1"].person_id
    client.get(f"/v1/persons/{person}", params={"purpose": "border check"},
               headers={"Authorization": f"Bearer {tokens[Role.OFFICER]}"})
    seen = traveller_asks(client, "/v1/traveller/access-log").json()["entries"]

    def scanned(self, after_seq=0):
        raise AssertionError("the whole audit log was read")

    monkeypatch.setattr(DuckDBStore, "audit_rows", scanned)
    again = traveller_asks(client, "/v1/traveller/access-log")
    assert again.status_code == 200, again.text
    assert again.json()["entries"] == seen and seen[-1]["action"] == "person.view"


def test_guessing_is_rate_limited_per_document(tmp_path):
    store = DuckDBStore(tmp_path / "limits.duckdb")
    app = create_app(store, per_client=100, per_document=3, window=60)
    with TestClient(app) as client:
        codes = [traveller_asks(client, date_of_birth=f"2004-12-{d:02d}").status_code for d in range(1, 6)]
        assert codes == [200, 200, 200, 429, 429]
        assert traveller_asks(client, document_number="OTHER1").status_code == 200
    store.close()


def test_a_departure_on_another_passport_counts_for_the_traveller_once_a_reviewer_confirms_it(service):
    client, _, tokens = service
    reviewer = {"Authorization": f"Bearer {tokens[Role.REVIEWER]}"}
    item = item_id("APIS-1", "BRD-1")
    # Linked by a reviewer: the exit on the other passport now counts, and the traveller may see it.
    assert client.post(f"/v1/review/{item}/decision", json={"decision": "accept"}, headers=reviewer).status_code == 200
    assert traveller_asks(client).json()["stays"][0]["status"] == "departed"


def test_a_traveller_correction_holds_the_overstay_until_an_officer_decides_with_reasons(service):
    client, _, tokens = service
    officer = {"Authorization": f"Bearer {tokens[Role.OFFICER]}"}
    assert traveller_asks(client).json()["stays"][0]["status"] == "overstay"
    opened = traveller_asks(client, "/v1/traveller/corrections", field="admitted_until", claimed_value="2025-03-10",
                            explanation="my visa was extended at the port; stamp in my passport")
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert traveller_asks(client).json()["stays"][0]["status"] == "needs_review"  # held while the case is open
    state = client.get(f"/v1/traveller/cases/{case['case_id']}", params={"code": case["access_code"]}).json()
    assert state["state"] == "open"
    assert client.get(f"/v1/traveller/cases/{case['case_id']}", params={"code": "WRONG"}).status_code == 404
    listed = client.get("/v1/cases", params=WHY, headers=officer).json()["cases"]
    assert [c["case_id"] for c in listed] == [case["case_id"]] and listed[0]["event_id"] == "BRD-1"
    decided = client.post(f"/v1/cases/{case['case_id']}/decision", headers=officer,
                          json={"decision": "accept", "reasons": "port stamp confirmed with the port's records"})
    assert decided.status_code == 200, decided.text
    state = client.get(f"/v1/traveller/cases/{case['case_id']}", params={"code": case["access_code"]}).json()
    assert (state["state"], state["decision"]) == ("accepted", "port stamp confirmed with the port's records")
    (stay,) = traveller_asks(client).json()["stays"]
    assert stay["authorized_until"] == "2025-03-10" and stay["status"] == "overstay"  # corrected, and still over
    again = client.post(f"/v1/cases/{case['case_id']}/decision", headers=officer, json={"decision": "reject", "reasons": "x y z"})
    assert again.status_code == 400 and "decided already" in again.json()["detail"]


def test_a_correction_request_that_matches_no_record_looks_the_same_and_can_only_be_rejected(service):
    client, _, tokens = service
    officer = {"Authorization": f"Bearer {tokens[Role.OFFICER]}"}
    case = traveller_asks(client, "/v1/traveller/corrections", surname="Nobody", field="sex", claimed_value="F",
                          explanation="wrong sex marker").json()
    assert set(case) == {"case_id", "access_code"}
    accepted = client.post(f"/v1/cases/{case['case_id']}/decision", headers=officer, json={"decision": "accept", "reasons": "yes"})
    assert accepted.status_code == 400 and "matched no record" in accepted.json()["detail"]
    assert client.post(f"/v1/cases/{case['case_id']}/decision", headers=officer,
                       json={"decision": "reject", "reasons": "no record of this passport"}).status_code == 200


def test_a_posted_manifest_becomes_linked_departures(service):
    client, _, tokens = service
    manifest = Path(__file__).parents[1] / "data" / "paxlst" / "crew_list.edi"
    response = client.post("/v1/manifests", params={"format": "paxlst", "country": "USA"}, content=manifest.read_bytes(),
                           headers={"Authorization": f"Bearer {tokens[Role.INGEST]}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] > 0 and len(body["persons"]) == body["accepted"]  # every traveller linked to a person
    assert all(p.startswith("P") for p in body["persons"].values())


def test_under_the_schengen_pack_a_traveller_sees_days_used_and_left_in_the_180_day_window(tmp_path):
    from datetime import datetime, timedelta, timezone

    from stayledger.storage.memory import MemoryStore

    today = datetime.now(timezone.utc).date()
    arrival = {"event_id": "SCH-1", "kind": "arrival", "occurred_on": (today - timedelta(days=30)).isoformat(),
               "source": "border", "surname": "Silva", "date_of_birth": "1985-06-01", "nationality": "BRA",
               "document_number": "FX123456", "admission_class": "C", "admitted_until": (today + timedelta(days=59)).isoformat()}
    store = MemoryStore()
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.ingest import ingest_records

    ingest_records(store, ADMIN, "seed", [RawRecord("line 1", json.dumps(arrival), arrival)])
    with TestClient(create_app(store, pack="schengen", traveller_floor=0)) as client:
        identity = {"document_number": "FX123456", "document_issuer": "BRA", "date_of_birth": "1985-06-01", "surname": "SILVA"}
        answer = client.post("/v1/traveller/status", json=identity).json()
        assert answer["found"] is True
        assert answer["schengen"]["days_used"] == 31  # 30 days ago to today, both days counted
        assert answer["schengen"]["latest_exit"] == (today + timedelta(days=59)).isoformat()  # the 90th day
        assert answer["schengen"]["overstay_days"] == 0
        miss = client.post("/v1/traveller/status", json={**identity, "surname": "SOUZA"}).json()
        assert miss == {"found": False, "stays": [], "schengen": None}


def test_found_or_not_a_traveller_waits_out_the_floor_the_operator_set(tmp_path, monkeypatch):
    """`serve --traveller-floor-ms` reaches every worker's app: no answer, found or not, comes sooner."""
    import time

    from stayledger.api.workers import WorkerConfig, create_worker_app
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.ingest import ingest_records

    arrival = {"event_id": "FL-1", "kind": "arrival", "occurred_on": "2026-11-01", "source": "border", "surname": "Okafor",
               "date_of_birth": "1979-02-03", "nationality": "NGA", "document_number": "A01234567",
               "admission_class": "B2", "admitted_until": "2027-04-30"}
    store = DuckDBStore(tmp_path / "floor.duckdb")
    ingest_records(store, ADMIN, "seed", [RawRecord("line 1", json.dumps(arrival), arrival)])
    store.close()
    monkeypatch.delenv("STAYLEDGER_SERVE_WORKER", raising=False)
    WorkerConfig(str(tmp_path / "floor.duckdb"), str(tmp_path / "audit.pem"), traveller_floor=0.4).to_environment()
    identity = {"document_number": "A01234567", "document_issuer": "NGA", "date_of_birth": "1979-02-03", "surname": "OKAFOR"}
    with TestClient(create_worker_app()) as client:
        for body, found in ((identity, True), ({**identity, "surname": "OKAFO"}, False)):
            started = time.monotonic()
            answer = client.post("/v1/traveller/status", json=body).json()
            assert answer["found"] is found
            assert time.monotonic() - started >= 0.4


def test_the_floor_rises_with_slow_found_lookups_and_misses_cannot_pull_it_down(tmp_path, monkeypatch):
    """Under load found lookups slow down: a miss then waits as long as they take. A flood of quick misses (a guesser
    trying details) leaves the floor where the found lookups put it."""
    import time

    import stayledger.usecases.traveller as traveller
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.ingest import ingest_records

    store = DuckDBStore(tmp_path / "adapt.duckdb")
    ingest_records(store, ADMIN, "seed", [RawRecord("line 1", json.dumps(ARRIVAL), ARRIVAL)])
    quick = traveller.check_stay

    def slow_when_found(*args, **kwargs):
        answer = quick(*args, **kwargs)
        if answer[0]:
            time.sleep(0.16)  # as a found record's read under load
        return answer

    def timed(client, body) -> float:
        started = time.monotonic()
        assert client.post("/v1/traveller/status", json=body).status_code == 200
        return time.monotonic() - started

    miss = {**IDENTITY, "surname": "Other"}
    app = create_app(store, per_client=1000, per_document=1000, traveller_floor=0.01)
    with TestClient(app) as client:
        for _ in range(25):
            timed(client, miss)
        assert timed(client, miss) >= 0.1  # the misses did not pull it under its start
        monkeypatch.setattr(traveller, "check_stay", slow_when_found)
        for _ in range(20):
            timed(client, IDENTITY)
        assert timed(client, miss) >= 1.25 * 0.16  # above the slow found ones now
    store.close()


def test_the_overstay_report_comes_as_json_rows(service):
    client, _, tokens = service
    report = client.get("/v1/reports/overstays", params={"fiscal_year": 2024, "as_of": "2025-01-01"},
                        headers={"Authorization": f"Bearer {tokens[Role.ANALYST]}"}).json()
    assert report["fiscal_year"] == 2024 and report["by_class_group"]
    row = report["by_class_group"][0]
    assert isinstance(row, dict) and {"label", "expected_departures"} <= set(row)
