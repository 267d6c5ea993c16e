"""Resolving identities on real DuckDB with Splink: training, incremental linking, stable ids, accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stayledger.identity.evaluation import pair_metrics
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.synth.generator import generate_population
from stayledger.usecases.evaluate import read_truth_identities
from stayledger.usecases.ingest import ingest_records
from stayledger.formats.canonical import RawRecord
from stayledger.usecases.resolve import resolve_identities
from stayledger.audit.log import parse_entry
from stayledger.domain.access import AccessContext, Role
from tests.access import ADMIN


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pop")
    generate_population(800, 11, out)
    return out


def records(path: Path, keep) -> list[RawRecord]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        data = json.loads(line)
        if keep(data):
            rows.append(RawRecord(f"line {number}", line, data))
    return rows


def test_first_run_trains_a_model_then_new_events_link_incrementally_with_stable_ids(population, tmp_path):
    store = DuckDBStore(tmp_path / "l.duckdb")
    events = population / "events.jsonl"
    ingest_records(store, ADMIN, "events.jsonl", records(events, lambda r: r["occurred_on"] < "2025-10-01"))
    first = resolve_identities(store, ADMIN)
    assert first.method == "splink" and any("trained linkage model version 1" in n for n in first.notes)
    before = {e: a.person_id for e, a in store.identity_assignments().items()}

    ingest_records(store, ADMIN, "events.jsonl", records(events, lambda r: r["occurred_on"] >= "2025-10-01"))
    second = resolve_identities(store, ADMIN)
    assert second.method == "splink-incremental"
    after = {e: a.person_id for e, a in store.identity_assignments().items()}
    unchanged = sum(after[e] == p for e, p in before.items())
    assert unchanged / len(before) > 0.999  # old events keep their person ids

    metrics = pair_metrics(after, read_truth_identities(population))
    assert metrics.f1 > 0.99, metrics
    full = resolve_identities(store, ADMIN, full=True)
    assert full.method == "splink"
    assert pair_metrics({e: a.person_id for e, a in store.identity_assignments().items()}, read_truth_identities(population)).f1 > 0.99
    store.close()


def test_a_store_too_small_to_train_on_uses_exact_keys_and_says_so(population, tmp_path):
    store = DuckDBStore(tmp_path / "small.duckdb")
    ingest_records(store, ADMIN, "events.jsonl", records(population / "events.jsonl", lambda r: r["occurred_on"] < "2023-01-15"))
    report = resolve_identities(store, ADMIN)
    assert report.method == "deterministic-keys"
    assert any("too few to train" in n for n in report.notes)
    assert store.latest_model() is None
    store.close()


def test_nothing_new_is_a_quick_no_op(population, tmp_path):
    store = DuckDBStore(tmp_path / "n.duckdb")
    ingest_records(store, ADMIN, "events.jsonl", records(population / "events.jsonl", lambda r: r["occurred_on"] < "2023-01-15"))
    resolve_identities(store, ADMIN)
    again = resolve_identities(store, ADMIN)
    assert again.method == "unchanged" and again.notes == ["nothing new to resolve"]
    store.close()


def test_an_overstay_shows_the_nearest_unlinked_departure_and_why_it_was_not_linked(population, tmp_path):
    from datetime import date

    from stayledger.usecases.lookup import look_up_person

    store = DuckDBStore(tmp_path / "near.duckdb")
    ingest_records(store, ADMIN, "events.jsonl", records(population / "events.jsonl", lambda r: True))
    resolve_identities(store, ADMIN)
    arrival = {"event_id": "T-ARR", "kind": "arrival", "occurred_on": "2025-03-01", "source": "border", "surname": "Abernathy",
               "given_names": "Quentin", "date_of_birth": "1961-04-17", "sex": "M", "nationality": "NZL",
               "document_number": "LA123456", "admission_class": "WT", "admitted_until": "2025-05-29", "mode": "air"}
    # His departure, written by a carrier with a vowel changed, a garbled birth date and his other passport: too weak to link.
    departure = {"event_id": "T-DEP", "kind": "departure", "occurred_on": "2025-05-20", "source": "carrier", "surname": "ABERNETHY",
                 "given_names": "QUENTIN", "date_of_birth": "1961-07-14", "sex": "M", "nationality": "GBR",
                 "document_number": "533401234", "mode": "air"}
    ingest_records(store, ADMIN, "extra", [RawRecord("line 1", json.dumps(arrival), arrival), RawRecord("line 2", json.dumps(departure), departure)])
    resolve_identities(store, ADMIN)
    person = store.identity_assignments()["T-ARR"].person_id
    assert store.identity_assignments()["T-DEP"].person_id != person
    officer = AccessContext("officer-7", Role.OFFICER, "overstay check", case_ref="CASE-9")
    view = look_up_person(store, officer, person, date(2025, 12, 31))
    (stay,) = view.stays
    misses = view.near_misses[stay.arrival_event_id]
    assert misses and misses[0].event_id == "T-DEP"
    assert any(reason.startswith("nationality") for reason in misses[0].against)
    logged = parse_entry(list(store.audit_rows())[-1][1])
    assert (logged["actor"], logged["role"], logged["action"], logged["purpose"], logged["case_ref"]) == (
        "officer-7", "officer", "person.view", "overstay check", "CASE-9")
    assert logged["objects"]["person_id"] == person and "T-DEP" in logged["objects"]["near_misses"]
    store.close()


def test_when_the_ledger_grows_enough_to_train_the_new_model_relinks_everything(population, tmp_path):
    store = DuckDBStore(tmp_path / "grow.duckdb")
    lines = records(population / "events.jsonl", lambda r: True)
    ingest_records(store, ADMIN, "events.jsonl", lines[:450])
    assert resolve_identities(store, ADMIN).method == "deterministic-keys"
    ingest_records(store, ADMIN, "events.jsonl", lines[450:520])  # 70 new of 520: small enough for incremental linking
    grown = resolve_identities(store, ADMIN)
    assert grown.method == "splink" and any("trained linkage model" in n for n in grown.notes)
    store.close()


def test_eight_crew_on_a_placeholder_number_stay_eight_persons_when_linked_incrementally(population, tmp_path):
    # The crew arrive after the model is trained: linked one at a time, where the same document and
    # nationality is a fast path. A placeholder number must not take it.
    store = DuckDBStore(tmp_path / "crew.duckdb")
    ingest_records(store, ADMIN, "events.jsonl", records(population / "events.jsonl", lambda r: True))
    assert resolve_identities(store, ADMIN).method == "splink"
    names = [("SANTOS", "JOSE"), ("REYES", "MARIA"), ("CRUZ", "JUAN"), ("BAUTISTA", "ANA"),
             ("OCAMPO", "PEDRO"), ("GARCIA", "LUZ"), ("MENDOZA", "RAMON"), ("TORRES", "ELENA")]
    crew = []
    for i, (surname, given) in enumerate(names):
        row = {"event_id": f"CREW-{i}", "kind": "arrival", "occurred_on": "2025-11-02", "source": "apis", "surname": surname,
               "given_names": given, "date_of_birth": f"19{70 + i}-0{i + 1}-1{i}", "sex": "M", "nationality": "PHL",
               "document_number": "123456789", "mode": "sea", "admission_class": "D1", "admitted_until": "2025-11-30"}
        crew.append(RawRecord(f"line {i + 1}", json.dumps(row), row))
    ingest_records(store, ADMIN, "crew", crew)
    assert resolve_identities(store, ADMIN).method == "splink-incremental"
    persons = {a.person_id for e, a in store.identity_assignments().items() if e.startswith("CREW-")}
    assert len(persons) == 8
    store.close()
