"""The policy matrix: every use case × every role is allowed or refused, as reviewed here, and audited either way.

A new use case (a public function in ``stayledger.usecases`` taking ``store, ctx``) fails these tests until it
has an action in the policy table, a row in EXPECTED and an invocation in ``invocations`` below.
"""

from __future__ import annotations

import json
import importlib
import inspect
import pkgutil
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import stayledger.usecases
from stayledger.audit.log import parse_entry
from stayledger.domain.access import AccessContext, AccessDenied, Action, PurposeRequired, Role
from stayledger.domain.events import parse_event
from stayledger.errors import NotFound, StayledgerError
from stayledger.formats.canonical import RawRecord
from stayledger.storage.base import EventStore, make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases import (
    audit,
    correct,
    evaluate,
    export,
    figures,
    ingest,
    lookup,
    migrate,
    quarantine,
    report,
    resolve,
    retention,
    review,
    stays_snapshot,
    traveller,
    users,
)
from stayledger.usecases.policy import POLICY, authorize
from tests.access import ADMIN, as_role

ALL = set(Role)
# Reviewed by hand: who may do what. Change the policy and this table together, on purpose.
EXPECTED: dict[Action, tuple[set[str], bool]] = {  # action: (roles allowed, purpose required)
    Action.INGEST_EVENTS: ({"ingest", "admin"}, False),
    Action.LIST_QUARANTINE: ({"admin"}, True),
    Action.RESOLVE_IDENTITIES: ({"admin"}, False),
    Action.VIEW_PERSON: ({"officer", "reviewer", "admin"}, True),
    Action.EXPLAIN_PAIR: ({"officer", "reviewer", "admin"}, True),
    Action.LIST_REVIEW: ({"reviewer", "admin"}, False),
    Action.COUNT_HELD_STAYS: ({"reviewer", "analyst", "admin"}, False),
    Action.SHOW_REVIEW: ({"reviewer", "admin"}, True),
    Action.DECIDE_REVIEW: ({"reviewer", "admin"}, False),
    Action.CORRECT_EVENT: ({"officer", "admin"}, True),
    Action.EXPORT_EVENTS: ({"admin"}, True),
    Action.EXPORT_IDENTITIES: ({"admin"}, True),
    Action.EXPORT_STAYS: ({"admin"}, True),
    Action.DETERMINE_STAYS: ({"admin"}, False),
    Action.REPORT_OVERSTAYS: ({"analyst", "admin"}, False),
    Action.EVALUATE: ({"analyst", "admin"}, False),
    Action.LIVE_FIGURES: ({"analyst", "admin"}, False),
    Action.CHECK_RETENTION: ({"admin"}, False),
    Action.APPLY_RETENTION: ({"admin"}, False),
    Action.MIGRATE_LEDGER: ({"admin"}, False),
    Action.LIST_AUDIT: ({"auditor", "admin"}, False),
    Action.VERIFY_AUDIT: ({"auditor", "admin"}, False),
    Action.CHECKPOINT_AUDIT: ({"auditor", "admin"}, False),
    Action.PROVE_AUDIT: ({"auditor", "admin"}, False),
    Action.ADD_USER: ({"admin"}, False),
    Action.LIST_USERS: ({"admin"}, False),
    Action.REVOKE_USER: ({"admin"}, False),
    Action.TRAVELLER_STATUS: ({"traveller"}, False),
    Action.TRAVELLER_DEPARTURE: ({"traveller"}, False),
    Action.TRAVELLER_RECEIPT: ({"traveller"}, False),
    Action.TRAVELLER_ACCESS_LOG: ({"traveller"}, False),
    Action.TRAVELLER_CORRECTION: ({"traveller"}, False),
    Action.TRAVELLER_CASE: ({"traveller"}, False),
    Action.LIST_CASES: ({"officer", "admin"}, True),
    Action.DECIDE_CASE: ({"officer", "admin"}, False),
}

# Steps other operations compose (they run inside an operation that was authorised and is audited).
INTERNAL_STEPS = {
    "resolve.ensure_resolved", "resolve.relink", "resolve.unresolved_count", "resolve.review_constraints",
    "stays.person_groups", "stays.unsettled_links", "stays.determine_stays", "report.stay_facts",
    "stays.determine_stays_table", "stays.stay_inputs", "stays.map_stays",
    "evaluate.measure_accuracy", "evaluate.determinations_with_true_identities", "review.find_item",
    "lookup.nearest_unlinked_exits", "audit.log_origin", "lookup.person_stays", "lookup.persons_stays",
    "lookup.persons_records_and_stays", "lookup.stays_of_records", "lookup.same_day_holders", "lookup.copied_number_records",
    "users.authenticate",  # runs before there is an actor: it finds out who the caller is
}
# Use cases for several callers at once (the service's group commit): each item carries its own context.
GROUPED = {"ingest.record_posted_together"}

ARRIVAL = {"event_id": "ARR-1", "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": "KOWALSKA",
           "given_names": "ANNA", "date_of_birth": "1980-02-11", "nationality": "POL", "document_number": "EA1234567",
           "admission_class": "WT", "admitted_until": "2024-05-29"}
DEPARTURE = {"event_id": "DEP-1", "kind": "departure", "occurred_on": "2024-05-20", "source": "carrier", "surname": "KOWALSKA",
             "date_of_birth": "1980-02-11", "nationality": "POL", "document_number": "EA1234567"}
SIGNER = audit.Signer(Ed25519PrivateKey.generate())
IDENTITY = traveller.TravellerIdentity("EA1234567", "POL", "1980-02-11", "Kowalska")


@pytest.fixture
def store() -> MemoryStore:
    memory = MemoryStore(clock=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc))
    events = [parse_event(ARRIVAL), parse_event(DEPARTURE)]
    memory.append_events(make_batch(events, ["t", "t"], ["1", "2"], ["a", "d"]), [])
    resolve.resolve_identities(memory, ADMIN)
    return memory


def invocations(tmp: Path) -> dict[str, Callable[[EventStore, AccessContext], object]]:
    events_file = tmp / "events.jsonl"
    events_file.write_text('{"not": "an event"}\n', encoding="utf-8")
    (tmp / "truth_identities.csv").write_text("event_id,person\nARR-1,p1\nDEP-1,p1\n", encoding="utf-8")
    person = lambda s: s.identity_assignments()["ARR-1"].person_id  # noqa: E731
    return {
        "ingest.ingest_records": lambda s, c: ingest.ingest_records(s, c, "feed", [RawRecord("line 1", "{}", {})]),
        "ingest.ingest_file": lambda s, c: ingest.ingest_file(s, c, events_file, "jsonl"),
        "ingest.ingest_mapped": lambda s, c: ingest.ingest_mapped(s, c, tmp / "missing.csv", None, today=date(2026, 1, 1)),  # type: ignore[arg-type]
        "ingest.ingest_paxlst": lambda s, c: ingest.ingest_paxlst(s, c, tmp / "missing.edi", "USA"),
        "quarantine.list_quarantine": lambda s, c: quarantine.list_quarantine(s, c),
        "resolve.resolve_identities": lambda s, c: resolve.resolve_identities(s, c, full=True),
        "lookup.look_up_person": lambda s, c: lookup.look_up_person(s, c, person(s), date(2025, 1, 1)),
        "review.explain_pair": lambda s, c: review.explain_pair(s, c, "ARR-1", "DEP-1"),
        "review.show_review": lambda s, c: review.show_review(s, c, "ARR-1", "DEP-1"),
        "review.list_review": lambda s, c: review.list_review(s, c),
        "review.review_queue": lambda s, c: review.review_queue(s, c, date(2025, 1, 1)),
        "review.count_held_stays": lambda s, c: review.count_held_stays(s, c, date(2025, 1, 1)),
        "review.decide": lambda s, c: review.decide(s, c, "ARR-1", "DEP-1", accept=True, note=None),
        "correct.record_correction": lambda s, c: correct.record_correction(s, c, "ARR-1", {"given_names": "ANNE"}, source="officer"),
        "export.export_events": lambda s, c: export.export_events(s, c, tmp / "out.jsonl"),
        "export.export_identities": lambda s, c: export.export_identities(s, c, tmp / "ids.csv"),
        "export.export_stays": lambda s, c: export.export_stays(s, c, date(2025, 1, 1), tmp / "stays.csv"),
        "stays_snapshot.record_stays": lambda s, c: stays_snapshot.record_stays(s, c, date(2025, 1, 1)),
        "report.report_overstays": lambda s, c: report.report_overstays(s, c, 2024, date(2025, 1, 1)),
        "figures.live_figures": lambda s, c: figures.live_figures(s, c, date(2024, 5, 20)),
        "evaluate.evaluate_ledger": lambda s, c: evaluate.evaluate_ledger(s, c, tmp, date(2025, 1, 1)),
        "retention.enforce_retention": lambda s, c: retention.enforce_retention(s, c, date(2025, 1, 1), apply=False),
        "migrate.migrate_ledger": lambda s, c: migrate.migrate_ledger(s, c, MemoryStore()),  # refused: not a SQL store
        "audit.list_audit": lambda s, c: audit.list_audit(s, c),
        "audit.verify_audit": lambda s, c: audit.verify_audit(s, c),
        "audit.checkpoint_audit": lambda s, c: audit.checkpoint_audit(s, c, SIGNER),
        "audit.prove_entry": lambda s, c: audit.prove_entry(s, c, 1, SIGNER),
        "ingest.record_manifest": lambda s, c: ingest.record_manifest(s, c, "api", "UNA:+.? 'UNB+UNOA:4", "USA", as_of=date(2025, 1, 1)),
        "ingest.record_events": lambda s, c: ingest.record_events(s, c, "api", [{**DEPARTURE, "event_id": "DEP-2"}], as_of=date(2025, 1, 1)),
        "lookup.find_persons_by_document": lambda s, c: lookup.find_persons_by_document(s, c, "EA1234567", "POL"),
        "users.add_user": lambda s, c: users.add_user(s, c, f"u-{c.role.value}", "officer"),
        "users.list_users": lambda s, c: users.list_users(s, c),
        "users.revoke_user": lambda s, c: users.revoke_user(s, c, "nobody"),
        "traveller.check_stay": lambda s, c: traveller.check_stay(s, c, IDENTITY, date(2024, 4, 1)),
        "traveller.report_departure": lambda s, c: traveller.report_departure(s, c, IDENTITY, date(2024, 5, 20), SIGNER),
        "traveller.receipt_status": lambda s, c: traveller.receipt_status(s, c, "0000"),
        "traveller.who_looked": lambda s, c: traveller.who_looked(s, c, IDENTITY),
        "traveller.request_correction": lambda s, c: traveller.request_correction(s, c, IDENTITY, "given_names", "ANNA MARIA", "my full name"),
        "traveller.case_state": lambda s, c: traveller.case_state(s, c, "C1", "code"),
        "traveller.list_cases": lambda s, c: traveller.list_cases(s, c),
        "traveller.decide_case": lambda s, c: traveller.decide_case(s, c, "C1", accept=False, reasons="no record"),
    }


ACTION_OF = {
    "ingest.ingest_records": Action.INGEST_EVENTS, "ingest.ingest_file": Action.INGEST_EVENTS,
    "ingest.ingest_mapped": Action.INGEST_EVENTS, "ingest.ingest_paxlst": Action.INGEST_EVENTS,
    "quarantine.list_quarantine": Action.LIST_QUARANTINE, "resolve.resolve_identities": Action.RESOLVE_IDENTITIES,
    "lookup.look_up_person": Action.VIEW_PERSON, "review.explain_pair": Action.EXPLAIN_PAIR,
    "review.show_review": Action.SHOW_REVIEW, "review.list_review": Action.LIST_REVIEW,
    "review.review_queue": Action.LIST_REVIEW,
    "review.count_held_stays": Action.COUNT_HELD_STAYS,
    "review.decide": Action.DECIDE_REVIEW, "correct.record_correction": Action.CORRECT_EVENT,
    "export.export_events": Action.EXPORT_EVENTS, "export.export_identities": Action.EXPORT_IDENTITIES,
    "export.export_stays": Action.EXPORT_STAYS, "report.report_overstays": Action.REPORT_OVERSTAYS,
    "stays_snapshot.record_stays": Action.DETERMINE_STAYS,
    "evaluate.evaluate_ledger": Action.EVALUATE, "figures.live_figures": Action.LIVE_FIGURES, "retention.enforce_retention": Action.CHECK_RETENTION,
    "migrate.migrate_ledger": Action.MIGRATE_LEDGER,
    "audit.list_audit": Action.LIST_AUDIT, "audit.verify_audit": Action.VERIFY_AUDIT,
    "audit.checkpoint_audit": Action.CHECKPOINT_AUDIT, "audit.prove_entry": Action.PROVE_AUDIT,
    "ingest.record_events": Action.INGEST_EVENTS, "ingest.record_manifest": Action.INGEST_EVENTS, "lookup.find_persons_by_document": Action.VIEW_PERSON,
    "users.add_user": Action.ADD_USER, "users.list_users": Action.LIST_USERS, "users.revoke_user": Action.REVOKE_USER,
    "traveller.check_stay": Action.TRAVELLER_STATUS, "traveller.report_departure": Action.TRAVELLER_DEPARTURE,
    "traveller.receipt_status": Action.TRAVELLER_RECEIPT, "traveller.who_looked": Action.TRAVELLER_ACCESS_LOG,
    "traveller.request_correction": Action.TRAVELLER_CORRECTION, "traveller.case_state": Action.TRAVELLER_CASE,
    "traveller.list_cases": Action.LIST_CASES, "traveller.decide_case": Action.DECIDE_CASE,
}


def discovered_use_cases() -> tuple[set[str], set[str]]:
    """(functions taking store and ctx, functions taking a store without ctx) across stayledger.usecases."""
    with_ctx, without = set(), set()
    for module_info in pkgutil.iter_modules(stayledger.usecases.__path__):
        if module_info.name in ("accountability", "policy"):  # the machinery itself
            continue
        module = importlib.import_module(f"stayledger.usecases.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            params = list(inspect.signature(function).parameters)
            if params[:1] == ["store"]:
                (with_ctx if params[1:2] == ["ctx"] else without).add(f"{module_info.name}.{name}")
    return with_ctx, without


def test_every_action_has_a_policy_and_a_reviewed_row():
    assert set(POLICY) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_policy_is_the_reviewed_matrix(action, role):
    allowed, purpose_required = EXPECTED[action]
    ctx = as_role(role)
    if role.value in allowed:
        authorize(ctx, action)
        if purpose_required:
            with pytest.raises(PurposeRequired):
                authorize(as_role(role, purpose=None), action)
            with pytest.raises(PurposeRequired):
                authorize(as_role(role, purpose="  x "), action)  # blank or under 3 characters
        else:
            authorize(as_role(role, purpose=None), action)
    else:
        with pytest.raises(AccessDenied):
            authorize(ctx, action)


def test_every_use_case_that_touches_the_ledger_takes_a_context_and_is_covered(tmp_path):
    with_ctx, without = discovered_use_cases()
    assert without <= INTERNAL_STEPS | GROUPED, f"take ctx (or name as an internal step): {sorted(without - INTERNAL_STEPS)}"
    assert with_ctx == set(invocations(tmp_path)) == set(ACTION_OF), "every use case needs an invocation and an action here"


@pytest.mark.parametrize("use_case", sorted(ACTION_OF))
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_use_case_checks_the_policy_and_audits_the_outcome(use_case, role, store, tmp_path):
    action = ACTION_OF[use_case]
    allowed, _ = EXPECTED[action]
    ctx = as_role(role, actor=f"{role.value}-1")
    before = len(list(store.audit_rows()))
    call = invocations(tmp_path)[use_case]
    if role.value not in allowed:
        with pytest.raises(AccessDenied):
            call(store, ctx)
    else:
        try:
            call(store, ctx)
        except AccessDenied:
            pytest.fail(f"{role.value} was refused {use_case}")
        except (StayledgerError, OSError, AttributeError, TypeError):
            pass  # the dummy input may not exist or parse: the outcome is audited all the same
    entries = [parse_entry(text) for _, text, _ in store.audit_rows()][before:]
    assert entries, "nothing was audited"
    last = entries[-1]
    assert (last["actor"], last["role"], last["action"]) == (f"{role.value}-1", role.value, action.value)
    assert last["outcome"].startswith("refused") == (role.value not in allowed)


def test_a_refused_operation_writes_nothing_but_its_refusal(store, tmp_path):
    identities = store.identity_assignments()
    with pytest.raises(PurposeRequired):
        export.export_events(store, as_role(Role.ADMIN, purpose=""), tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists() and store.identity_assignments() == identities
    last = parse_entry(list(store.audit_rows())[-1][1])
    assert last["action"] == "export.events" and "needs a purpose" in last["outcome"]


def test_a_failed_lookup_is_audited_as_not_found(store):
    with pytest.raises(NotFound):
        lookup.look_up_person(store, as_role(Role.OFFICER), "P-NOBODY", date(2025, 1, 1))
    last = parse_entry(list(store.audit_rows())[-1][1])
    assert (last["action"], last["outcome"], last["objects"]["person_id"]) == ("person.view", "not_found", "P-NOBODY")


def test_an_operation_that_fails_half_way_is_rolled_back_and_audited_as_an_error(store):
    before = store.events_table().num_rows
    with pytest.raises(Exception):
        correct.record_correction(store, ADMIN, "ARR-1", {"date_of_birth": "not a date"}, source="officer")
    assert store.events_table().num_rows == before
    last = parse_entry(list(store.audit_rows())[-1][1])
    assert last["action"] == "event.correct" and last["outcome"].startswith("error")


def test_entries_hold_ids_and_counts_never_names_dates_of_birth_or_documents(store, tmp_path):
    for call in invocations(tmp_path).values():
        try:
            call(store, ADMIN)
        except Exception:  # noqa: BLE001 - dummy inputs; only the log matters here
            pass
    text = "\n".join(text for _, text, _ in store.audit_rows())
    for personal in ("KOWALSKA", "ANNA", "ANNE", "1980-02-11", "EA1234567"):
        assert personal not in text


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_callers_recorded_together_are_each_checked_and_audited_as_themselves(role, store):
    allowed, _ = EXPECTED[Action.INGEST_EVENTS]
    feed, other = as_role(Role.INGEST, actor="feed-1"), as_role(role, actor=f"{role.value}-1")
    event = {**DEPARTURE, "event_id": "DEP-2", "occurred_on": "2024-05-21"}
    before = len(list(store.audit_rows()))
    results = ingest.record_posted_together(store, [ingest.PostedEvents(other, "api", [event]),
                                                    ingest.PostedEvents(feed, "api", [{**event, "event_id": "DEP-3"}])],
                                            as_of=date(2024, 6, 1))
    entries = [json.loads(row[1]) for row in list(store.audit_rows())[before:]]
    outcomes = {(e["actor"], e["outcome"].split(":")[0]) for e in entries}
    assert ("feed-1", "ok") in outcomes and isinstance(results[1], ingest.RecordedEvents) and results[1].accepted == 1
    if role.value in allowed:
        assert isinstance(results[0], ingest.RecordedEvents) and results[0].accepted == 1
        assert (f"{role.value}-1", "ok") in outcomes and len(entries) == 2
    else:
        assert isinstance(results[0], AccessDenied) and store.events_by_id(["DEP-2"]) == []
        assert (f"{role.value}-1", "refused") in outcomes and len(entries) == 2
