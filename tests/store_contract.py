"""One contract for every storage backend; each backend's test module subclasses it in a few lines."""

from __future__ import annotations

import pytest

from stayledger.domain.events import parse_event
from stayledger.storage.base import (
    EventStore,
    IdentityAssignment,
    IdentityChange,
    QuarantineEntry,
    ResolutionRun,
    ReviewItem,
    make_batch,
)


def arrival(event_id: str, surname: str = "DOE", **extra) -> dict:
    return {
        "event_id": event_id, "kind": "arrival", "occurred_on": "2024-03-01", "source": "border",
        "surname": surname, "date_of_birth": "1980-02-11", "nationality": "GBR", "document_number": "123456789",
        "admission_class": "WT", "admitted_until": "2024-05-29", **extra,
    }


def batch(*raws: dict):
    events = [parse_event(r) for r in raws]
    return make_batch(events, ["test.jsonl"] * len(events), [f"line {i + 1}" for i in range(len(events))], [str(r) for r in raws])


class StoreContract:
    """Subclasses provide ``store`` as a fixture."""

    @pytest.fixture
    def store(self) -> EventStore:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_appended_events_come_back_in_order(self, store):
        outcome = store.append_events(batch(arrival("a"), arrival("b")), [])
        assert outcome.added == 2 and store.event_count() == 2
        assert store.events_table().column("event_id").to_pylist() == ["a", "b"]
        assert [e.event_id for e in store.events_by_id(["b"])] == ["b"]

    def test_identical_reappend_is_a_no_op(self, store):
        store.append_events(batch(arrival("a")), [])
        outcome = store.append_events(batch(arrival("a")), [])
        assert (outcome.added, outcome.duplicates, outcome.conflicts) == (0, 1, [])
        assert store.event_count() == 1

    def test_different_content_under_a_known_id_is_quarantined_as_conflict(self, store):
        store.append_events(batch(arrival("a")), [])
        outcome = store.append_events(batch(arrival("a", surname="ROE")), [])
        assert outcome.added == 0 and len(outcome.conflicts) == 1
        assert store.events_by_id(["a"])[0].surname == "DOE"  # the original stays
        (stored,) = store.quarantine_entries()
        assert "conflict" in stored.entry.reasons and stored.entry.event_id == "a"

    def test_conflict_inside_one_batch_keeps_the_first(self, store):
        outcome = store.append_events(batch(arrival("a"), arrival("a", surname="ROE"), arrival("a")), [])
        assert outcome.added == 1 and outcome.duplicates == 1 and len(outcome.conflicts) == 1
        assert store.events_by_id(["a"])[0].surname == "DOE"

    def test_quarantine_keeps_raw_text_and_is_not_duplicated_on_rerun(self, store):
        entry = QuarantineEntry("f.jsonl", "line 3", '{"broken', "not valid JSON")
        store.append_events(batch(), [entry])
        store.append_events(batch(), [entry])
        assert store.quarantine_count() == 1
        assert store.quarantine_entries()[0].entry.raw == '{"broken'

    def test_identities_are_replaced_by_each_run_and_changes_accumulate(self, store):
        store.append_events(batch(arrival("a"), arrival("b")), [])
        run = ResolutionRun("deterministic-keys", None, 2, 1, 0, 0)
        store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P1", 0.97)], [], run)
        change = IdentityChange("split", "P1", "P2", 1, "review")
        store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P2", None)], [change], run)
        assert store.identity_assignments()["b"].person_id == "P2"
        assert store.person_event_ids("P1") == ["a"]
        assert store.identity_changes() == [change]

    def test_models_are_versioned(self, store):
        assert store.latest_model() is None
        store.save_model('{"v": 1}', "first")
        version = store.save_model('{"v": 2}', "second")
        assert store.latest_model() == (version, '{"v": 2}')

    def test_review_queue_takes_each_pair_once_and_records_decisions(self, store):
        item = ReviewItem("a", "b", 0.7)
        assert store.add_review_items([item, item]) == 1
        assert store.add_review_items([item]) == 0
        store.decide_review("a", "b", "rejected", "officer-7", "different people")
        (decided,) = store.review_items()
        assert decided.status == "rejected" and decided.decided_by == "officer-7"
        assert store.review_items(status="open") == []

    def test_lookups_are_logged(self, store):
        store.log_lookup("officer-7", "traveller enquiry", "person P1")
        ((_, actor, purpose, subject),) = store.lookup_log()
        assert (actor, purpose, subject) == ("officer-7", "traveller enquiry", "person P1")

    def test_erasure_removes_events_and_what_derives_from_them_and_logs_only_a_count(self, store):
        store.append_events(batch(arrival("a"), arrival("b")), [QuarantineEntry("f", "line 9", "x", "conflict", "a")])
        run = ResolutionRun("deterministic-keys", None, 2, 2, 0, 0)
        store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P2", None)], [], run)
        store.add_review_items([ReviewItem("a", "b", 0.7)])
        assert store.erase_events(["a"], "retention") == 1
        assert [e.event_id for e in store.events_by_id(["a", "b"])] == ["b"]
        assert "a" not in store.identity_assignments()
        assert store.quarantine_count() == 0 and store.review_items() == []
        ((_, count, reason),) = store.erasure_log()
        assert (count, reason) == (1, "retention")

    def test_identity_of_content_is_judged_on_the_normalised_event(self, store):
        store.append_events(batch(arrival("a", given_names="ANN")), [])
        same = store.append_events(batch(arrival("a", given_names=" ANN ", nationality="gbr")), [])
        assert (same.duplicates, same.conflicts) == (1, [])
        differs_only_by_an_absent_field = store.append_events(batch(arrival("a")), [])
        assert len(differs_only_by_an_absent_field.conflicts) == 1
