"""One contract for every storage backend; each backend's test module subclasses it in a few lines."""

from __future__ import annotations

import pytest

from stayledger.audit.log import AuditRecord, parse_entry, verify_entries
from stayledger.domain.events import parse_event
from stayledger.storage.base import (
    AppendOutcome,
    ErasurePlan,
    EventIdsKnown,
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


def append_as_a_file_ingest_does(store: EventStore, appended, quarantine=()) -> AppendOutcome:
    """The optimistic append as its contract asks: first write of a unit of work we own, redone on EventIdsKnown."""
    try:
        with store.unit_of_work():
            return store.append_events_optimistically(appended, list(quarantine))
    except EventIdsKnown:
        with store.unit_of_work():
            return store.append_events(appended, list(quarantine))


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

    def test_events_appended_after_a_position_are_read_from_there_in_order(self, store):
        assert store.event_position() == 0 and store.events_after(0)[0].num_rows == 0
        store.append_events(batch(arrival("a")), [])
        seen = store.event_position()
        store.append_events(batch(arrival("c"), arrival("b"), arrival("a")), [])  # "a" again: a duplicate
        newer, position = store.events_after(seen)
        assert newer.column("event_id").to_pylist() == ["c", "b"]
        assert position == store.event_position() > seen
        assert store.events_after(position) == (newer.schema.empty_table(), position)

    def test_events_are_found_by_their_document_with_ocr_confusions_folded(self, store):
        store.append_events(batch(arrival("a", document_number="AB-1O2"), arrival("b", document_number="X9")), [])
        assert [e.event_id for e in store.events_by_document("A8102")] == ["a"]  # B→8, O→0, hyphen dropped
        assert store.events_by_document("NONE") == []

    def test_a_documents_records_of_one_birth_date_come_with_their_persons(self, store):
        store.append_events(batch(arrival("a", document_number="AB-1O2"), arrival("b", document_number="A8102"),
                                  arrival("c", document_number="A8102", date_of_birth="1990-01-01"),
                                  arrival("d", document_number="X9")), [])
        store.replace_identities([IdentityAssignment("a", "P1", None)], [], ResolutionRun("deterministic-keys", None, 1, 1, 0, 0))
        found = store.document_records("A8102", "1980-02-11")
        assert [(e.event_id, a.person_id if a else None, a.link_probability if a else None) for e, a in found] == [
            ("a", "P1", None), ("b", None, None)]  # b not linked yet; c is of another birth date
        assert found[0][0] == store.events_by_id(["a"])[0]  # the whole event
        assert store.document_records("A8102", "1980-02") == [] and store.document_records("NONE", "1980-02-11") == []

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

    def test_near_real_time_assignments_add_only_what_no_run_assigned(self, store):
        store.append_events(batch(arrival("a"), arrival("b"), arrival("c")), [])
        store.replace_identities([IdentityAssignment("a", "P1", None)], [], ResolutionRun("deterministic-keys", None, 1, 1, 0, 0))
        store.add_identities([IdentityAssignment("a", "P9", 0.99), IdentityAssignment("b", "P1", 0.97),
                              IdentityAssignment("c", "P2", None), IdentityAssignment("c", "P3", 0.5)])
        found = store.assignments_for(["a", "b", "c"])
        assert {e: (x.person_id, x.link_probability) for e, x in found.items()} == {
            "a": ("P1", None), "b": ("P1", 0.97), "c": ("P2", None)}  # the run's own stays; an id given twice: its first
        store.add_identities([])

    def test_several_persons_events_are_read_together(self, store):
        store.append_events(batch(arrival("a"), arrival("b"), arrival("c")), [])
        run = ResolutionRun("deterministic-keys", None, 3, 2, 0, 0)
        store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P2", None),
                                  IdentityAssignment("c", "P1", 0.97)], [], run)
        assert store.events_of_persons(["P1", "P2", "P9", "P1"]) == {"P1": ["a", "c"], "P2": ["b"], "P9": []}

    def test_resolved_events_come_grouped_by_person_and_a_person_is_never_split(self, store):
        store.append_events(batch(*(arrival(e) for e in "zaybxc"), arrival("u")), [])  # "u": not resolved
        persons = {"z": "P2", "a": "P1", "y": "P3", "b": "P2", "x": "P1", "c": "P2"}
        store.replace_identities([IdentityAssignment(e, p, 0.9 if e == "b" else None) for e, p in persons.items()], [],
                                 ResolutionRun("deterministic-keys", None, 6, 3, 0, 0))
        assert store.identity_count() == 6
        tables = list(store.resolved_events_by_person(rows_per_table=2))
        rows = [(t.column("person_id").to_pylist(), t.column("event_id").to_pylist()) for t in tables]
        # Persons ascending, each person's events in append order, a table cut only between two persons.
        assert rows == [(["P1", "P1"], ["a", "x"]), (["P2", "P2", "P2"], ["z", "b", "c"]), (["P3"], ["y"])]
        assert tables[1].column("link_probability").to_pylist() == [None, 0.9, None]
        assert tables[0].column("surname").to_pylist() == ["DOE", "DOE"]

    def test_a_batch_of_new_events_only_is_appended_whole_and_any_other_not_at_all(self, store):
        entry = QuarantineEntry("f.jsonl", "line 3", '{"broken', "not valid JSON")
        outcome = store.append_new_events(batch(arrival("a"), arrival("b")), [entry])
        assert outcome is not None and outcome.added == 2 and store.quarantine_count() == 1
        assert store.append_new_events(batch(arrival("c"), arrival("a")), []) is None  # "a" is known
        assert store.append_new_events(batch(arrival("d"), arrival("d")), []) is None  # "d" given twice
        assert [e.event_id for e in store.events_by_id(["a", "b", "c", "d"])] == ["a", "b"]  # nothing else written

    def test_an_optimistic_append_ends_as_a_careful_one_would_new_known_repeated_or_conflicting(self, store):
        entry = QuarantineEntry("f.jsonl", "line 9", '{"broken', "not valid JSON")
        first = append_as_a_file_ingest_does(store, batch(arrival("a"), arrival("b")), [entry])
        assert (first.added, first.duplicates, first.conflicts, first.quarantined) == (2, 0, [], 1)
        again = append_as_a_file_ingest_does(store, batch(arrival("c"), arrival("a"), arrival("b", surname="ROE")), [entry])
        assert (again.added, again.duplicates, [c.event_id for c in again.conflicts]) == (1, 1, ["b"])
        repeated = append_as_a_file_ingest_does(store, batch(arrival("d"), arrival("d")))
        assert (repeated.added, repeated.duplicates) == (1, 1)
        assert store.events_table().column("event_id").to_pylist() == ["a", "b", "c", "d"]
        assert store.events_by_id(["b"])[0].surname == "DOE"
        assert sorted(q.entry.location for q in store.quarantine_entries()) == ["line 3", "line 9"]  # once each

    def test_new_events_appended_together_keep_their_order_and_every_field(self, store):
        store.append_events(batch(arrival("first")), [])
        raws = [arrival("z", given_names="ANA MARIA", sex="F", admitted_until=None, duration_of_status=True),
                arrival("a", document_issuer="IRL", port="JFK", carrier="BA"), arrival("m", surname="O'NEIL, JR")]
        outcome = store.append_new_events(batch(*raws), [])
        assert outcome is not None and outcome.added == 3
        assert store.events_table().column("event_id").to_pylist() == ["first", "z", "a", "m"]  # append order
        assert store.events_by_id(["z", "a", "m"]) == [parse_event(r) for r in raws]
        newer, position = store.events_after(0)
        assert newer.column("event_id").to_pylist() == ["first", "z", "a", "m"] and position == store.event_position()

    def test_the_latest_run_and_the_append_position_are_read_together(self, store):
        assert store.run_and_position() == (0, 0)
        store.append_events(batch(arrival("a"), arrival("b")), [])
        run = store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P2", None)], [],
                                       ResolutionRun("deterministic-keys", None, 2, 2, 0, 0))
        assert store.run_and_position() == (run, store.event_position()) == (store.latest_run(), store.event_position())
        assert store.event_position() > 0

    def test_several_persons_events_come_with_their_links_probabilities_in_one_read(self, store):
        store.append_events(batch(arrival("a"), arrival("b"), arrival("c")), [])
        run = ResolutionRun("deterministic-keys", None, 3, 2, 0, 0)
        store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P2", None),
                                  IdentityAssignment("c", "P1", 0.97)], [], run)
        found = store.persons_events(["P1", "P2", "P9", "P1"])
        assert {p: [(e.event_id, q) for e, q in records] for p, records in found.items()} == {
            "P1": [("a", None), ("c", 0.97)], "P2": [("b", None)], "P9": []}
        assert found["P1"][1][0] == store.events_by_id(["c"])[0]  # the whole event

    def test_the_queue_is_read_where_it_touches_given_events(self, store):
        store.add_review_items([ReviewItem("a", "b", 0.7), ReviewItem("c", "d", 0.6), ReviewItem("e", "a", 0.5)])
        store.decide_review("e", "a", "rejected", "officer-7", None)
        assert {(i.event_id_l, i.event_id_r) for i in store.review_items_touching(["b", "x"])} == {("a", "b")}
        assert {(i.event_id_l, i.event_id_r) for i in store.review_items_touching(["a", "d"])} == {("a", "b"), ("c", "d")}
        assert store.review_items_touching([]) == []
        assert [(i.event_id_l, i.event_id_r) for i in store.review_items_touching(["a"], "rejected")] == [("e", "a")]
        assert store.review_items_touching(["b"], "rejected") == []

    def test_the_queue_and_the_open_cases_are_read_together_where_they_touch_given_events(self, store):
        from stayledger.storage.base import CorrectionCase

        store.append_events(batch(arrival("a"), arrival("b"), arrival("c")), [])
        store.add_review_items([ReviewItem("a", "b", 0.7), ReviewItem("c", "d", 0.6), ReviewItem("e", "a", 0.5)])
        store.decide_review("e", "a", "accepted", "reviewer-1", None)
        store.open_case(CorrectionCase("C1", "a", "sex", "F", "wrong marker", "h"))
        store.open_case(CorrectionCase("C2", "c", "sex", "F", "wrong marker", "h"))
        store.open_case(CorrectionCase("C3", "b", "sex", "F", "wrong marker", "h"))
        store.decide_case("C3", "rejected", "officer-7", "as issued", store.clock())
        items, disputed = store.review_and_cases_touching(["a", "b", "x"])
        assert [(i.event_id_l, i.event_id_r, i.status) for i in items] == [("a", "b", "open")]
        assert disputed == {"a"}  # C2 is about another event, C3 is decided
        items, disputed = store.review_and_cases_touching(["a", "c"], ("open", "accepted"))
        assert sorted((i.event_id_l, i.event_id_r, i.status) for i in items) == [
            ("a", "b", "open"), ("c", "d", "open"), ("e", "a", "accepted")]
        assert items[0] == store.review_items_touching(["a", "c"])[0] and disputed == {"a", "c"}
        assert store.review_and_cases_touching([]) == ([], frozenset())

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

    def test_review_decisions_are_history_and_the_latest_applies(self, store):
        store.add_review_items([ReviewItem("a", "b", 0.7)])
        store.decide_review("a", "b", "accepted", "officer-7", "boarding pass seen")
        store.decide_review("a", "b", "rejected", "officer-9", "different birth place on file")
        history = store.review_history("a", "b")
        assert [(d.status, d.decided_by, d.note) for d in history] == [
            ("accepted", "officer-7", "boarding pass seen"), ("rejected", "officer-9", "different birth place on file")]
        (item,) = store.review_items()
        assert (item.status, item.decided_by) == ("rejected", "officer-9")

    def test_audit_entries_are_numbered_chained_and_verify(self, store):
        first = store.append_audit([AuditRecord("person.view", "officer-7", "officer", "ok", "enquiry", objects={"person_id": "P1"})])
        second = store.append_audit([AuditRecord("events.ingest", "feed", "ingest", "ok", objects={"added": 3}),
                                     AuditRecord("audit.list", "aud", "auditor", "ok")])
        assert [e.seq for e in first + second] == [1, 2, 3]
        rows = list(store.audit_rows())
        assert [parse_entry(text)["prev"] for _, text, _ in rows[1:]] == [h for _, _, h in rows[:-1]]
        assert parse_entry(rows[0][1])["objects"] == {"person_id": "P1"}
        assert verify_entries(rows, store.audit_heads()).ok
        assert [size for size, _ in store.audit_heads()] == [1, 3]

    def test_audit_entries_are_found_by_the_persons_and_events_they_name_and_only_by_those(self, store):
        store.append_audit([
            AuditRecord("person.view", "officer-7", "officer", "ok", "enquiry", objects={"person_id": "P1"}),
            AuditRecord("events.ingest", "feed", "ingest", "ok", objects={"origin": "P1", "person_ids": ["P2", "P1"]}),
            AuditRecord("pair.explain", "rev", "reviewer", "ok", objects={"event_ids": ["e1", "e2"]}),
            AuditRecord("traveller.receipt", "t", "traveller", "ok", objects={"receipt": "e1", "confirmed_by": "e3"}),
            AuditRecord("audit.list", "aud", "auditor", "ok", objects={"count": 4, "actor": "e2"}),
        ])
        with pytest.raises(RuntimeError):  # a rolled-back entry leaves nothing in the index either
            with store.unit_of_work():
                store.append_audit([AuditRecord("person.view", "x", "officer", "ok", objects={"person_id": "P9"})])
                raise RuntimeError("killed half way")
        texts = {seq: text for seq, text, _ in store.audit_rows()}
        about = store.audit_entries_about
        assert about(["P1"]) == [(1, texts[1]), (2, texts[2])]  # "origin": "P1" names no subject; entry 2 once
        assert [seq for seq, _ in about({"e2", "e3", "P2"})] == [2, 3, 4]  # in order, each once
        assert about(["e1"]) == [(3, texts[3])]  # a receipt id is not a subject
        assert about(["P9"]) == [] and about([]) == []
        rows = list(store.audit_rows_with_subjects())
        assert [(seq, sorted(subjects)) for seq, _, _, subjects in rows] == [
            (1, ["P1"]), (2, ["P1", "P2"]), (3, ["e1", "e2"]), (4, ["e3"]), (5, [])]
        assert [row[:3] for row in rows] == list(store.audit_rows())

    def test_a_unit_of_work_commits_all_or_nothing(self, store):
        with pytest.raises(RuntimeError):
            with store.unit_of_work():
                store.append_events(batch(arrival("a")), [])
                store.append_audit([AuditRecord("events.ingest", "feed", "ingest", "ok")])
                raise RuntimeError("killed half way")
        assert store.event_count() == 0 and list(store.audit_rows()) == [] and store.audit_heads() == []
        with store.unit_of_work():
            store.append_events(batch(arrival("a")), [])
            with store.unit_of_work():  # a nested unit joins the outer one
                store.append_audit([AuditRecord("events.ingest", "feed", "ingest", "ok")])
        assert store.event_count() == 1 and len(list(store.audit_rows())) == 1

    def test_audit_times_come_from_the_application_clock(self, store):
        from datetime import datetime, timezone

        store.clock = lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        store.append_audit([AuditRecord("audit.verify", "aud", "auditor", "ok")])
        (row,) = store.audit_rows()
        assert parse_entry(row[1])["at"] == "2026-01-02T03:04:05.000000Z"

    def test_erasure_removes_events_and_what_derives_from_them_and_logs_only_a_count(self, store):
        stale = QuarantineEntry("g", "line 2", "old junk", "not valid JSON")
        store.append_events(batch(arrival("a"), arrival("b")), [QuarantineEntry("f", "line 9", "x", "conflict", "a"), stale])
        run = ResolutionRun("deterministic-keys", None, 2, 2, 0, 0)
        store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P2", None)],
                                 [IdentityChange("split", "P1", "P3", 1, "review")], run)
        store.add_review_items([ReviewItem("a", "b", 0.7)])
        store.decide_review("a", "b", "rejected", "officer-7", "note naming the traveller")
        assert store.erase(ErasurePlan(["a"], ["P1"], [stale.quarantine_id], "retention")) == 1
        assert [e.event_id for e in store.events_by_id(["a", "b"])] == ["b"]
        assert "a" not in store.identity_assignments() and store.identity_changes() == []
        assert store.quarantine_count() == 0 and store.review_items() == []
        assert store.review_history("a", "b") == []
        ((_, count, reason),) = store.erasure_log()
        assert (count, reason) == (1, "retention")

    def test_an_erasure_starts_a_new_run_so_that_live_linkers_forget_the_erased(self, store):
        store.append_events(batch(arrival("a"), arrival("b")), [])
        run = store.replace_identities([IdentityAssignment("a", "P1", None), IdentityAssignment("b", "P2", None)], [],
                                       ResolutionRun("deterministic-keys", None, 2, 2, 0, 0))
        store.erase(ErasurePlan(["a"], ["P1"], [], "retention"))
        assert store.latest_run() > run and store.run_and_position()[0] == store.latest_run()
        after = store.latest_run()
        store.erase(ErasurePlan([], [], [], "nothing due"))  # nothing erased: the linkers stay as they are
        assert store.latest_run() == after

    def test_the_stays_snapshot_is_replaced_wholesale_comes_back_exactly_and_goes_with_an_erasure(self, store):
        from datetime import date

        from stayledger.domain.stays import ClosedBy, EvidenceEvent, HeldBecause, Status, StayDetermination
        from stayledger.storage.arrow_stays import stays_to_table, table_to_stays
        from stayledger.storage.base import StaysRun

        def stay(arrival_id: str, person: str, **changes) -> StayDetermination:
            fields = dict(arrival_event_id=arrival_id, person_id=person, status=Status.NEEDS_REVIEW,
                          authorized_until=None, overstay_days=0, admission_class="", closing_event_id=None,
                          closed_by=ClosedBy.OPEN, pending=False, rule_pack="us", rule_version="2026.1",
                          steps=('arrival "a", on 2024-03-01 → ü', "line\nbreak"),
                          evidence=(EvidenceEvent("a", "arrival", "border", date(2024, 3, 1), None),
                                    EvidenceEvent("d", "departure", "carrier", date(2024, 4, 2), 0.1234567890123457)),
                          uncertain_links=("d",), held_because=HeldBecause.IDENTITY_LINK)
            return StayDetermination(**{**fields, **changes})

        assert store.stays_snapshot() is None
        later = stay("b", "P1", status=Status.DEPARTED, authorized_until=date(2024, 9, 1), closing_event_id="d",
                     closed_by=ClosedBy.DEPARTURE, held_because=None, overstay_days=3, pending=True)
        arrived = {"a": date(2024, 3, 1), "b": date(2024, 5, 1), "c": date(2023, 1, 1)}
        first = store.replace_stays(StaysRun(date(2025, 1, 1), "us", "inprocess", 2),
                                    stays_to_table([later, stay("a", "P1")], arrived))
        second = store.replace_stays(StaysRun(date(2025, 2, 1), "us", "spark", 2),
                                     stays_to_table([stay("c", "P0"), later], arrived))
        run, table = store.stays_snapshot()
        assert second > first and (run.run_id, run.as_of, run.engine, run.stays) == (second, date(2025, 2, 1), "spark", 2)
        assert run.determined_at is not None
        assert table_to_stays(table) == [stay("c", "P0"), later]  # by person, then arrival; the first run is gone
        store.append_events(batch(arrival("a")), [])
        store.erase(ErasurePlan(["a"], [], [], "retention"))
        assert store.stays_snapshot() is None
        assert store.replace_stays(StaysRun(date(2025, 3, 1), "us", "inprocess", 0), stays_to_table([], {})) > second

    def test_accounts_are_found_by_token_id_revoked_once_and_names_never_reused(self, store):
        from datetime import datetime, timezone

        from stayledger.errors import StorageError
        from stayledger.storage.base import ServiceUser

        now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        store.add_user(ServiceUser("feed-1", "ingest", "abc123", "hash", now))
        assert store.user_by_token_id("abc123").name == "feed-1" and store.user_by_token_id("nope") is None
        assert store.revoke_user("feed-1", now) is True and store.revoke_user("feed-1", now) is False
        assert store.user_by_token_id("abc123").revoked_at is not None
        with pytest.raises(StorageError):
            store.add_user(ServiceUser("feed-1", "ingest", "def456", "hash", now))

    def test_correction_cases_open_are_listed_and_decided_and_go_with_an_erasure(self, store):
        from datetime import datetime, timezone

        from stayledger.storage.base import CorrectionCase

        store.append_events(batch(arrival("a"), arrival("b")), [])
        store.open_case(CorrectionCase("C1", "a", "sex", "F", "wrong marker", "h"))
        store.open_case(CorrectionCase("C2", "b", "sex", "M", "wrong marker", "h"))
        assert [c.case_id for c in store.cases("open")] == ["C1", "C2"]
        store.decide_case("C2", "rejected", "officer-7", "passport says M", datetime(2026, 1, 2, tzinfo=timezone.utc))
        assert [c.case_id for c in store.cases("open")] == ["C1"] and store.cases("rejected")[0].decided_by == "officer-7"
        store.erase(ErasurePlan(["a"], [], [], "retention"))
        assert [c.case_id for c in store.cases()] == ["C2"]

    def test_replacing_models_keeps_only_the_new_one_and_numbering_goes_on(self, store):
        store.save_model('{"names": ["KOWALSKA"]}', "first")
        old = store.save_model('{"names": ["KOWALSKA", "NOWAK"]}', "second")
        new = store.replace_models('{"names": ["NOWAK"]}', "rebuilt")
        assert new > old and store.latest_model() == (new, '{"names": ["NOWAK"]}')

    def test_identity_of_content_is_judged_on_the_normalised_event(self, store):
        store.append_events(batch(arrival("a", given_names="ANN")), [])
        same = store.append_events(batch(arrival("a", given_names=" ANN ", nationality="gbr")), [])
        assert (same.duplicates, same.conflicts) == (1, [])
        differs_only_by_an_absent_field = store.append_events(batch(arrival("a")), [])
        assert len(differs_only_by_an_absent_field.conflicts) == 1
