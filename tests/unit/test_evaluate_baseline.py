"""Evaluation separates the errors linkage causes from those the records cause (an unrecorded exit)."""

from datetime import date

from stayledger.domain.events import parse_event
from stayledger.storage.base import make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.evaluate import measure_accuracy
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.stays import determine_stays
from tests.access import ADMIN

AS_OF = date(2025, 1, 1)


def _event(event_id: str, kind: str, on: str, surname: str, number: str, **extra: str) -> dict[str, str]:
    return {"event_id": event_id, "kind": kind, "occurred_on": on, "source": "border" if kind == "arrival" else "carrier",
            "surname": surname, "given_names": "ANA", "date_of_birth": "1990-02-03", "nationality": "PRT",
            "document_number": number, **extra}


def test_false_overstays_are_split_into_the_records_own_and_linkages(tmp_path):
    rows = [
        # Left by land, unrecorded: no linkage can know.
        _event("A1", "arrival", "2024-03-01", "SOUSA", "CA111111", admission_class="WT", admitted_until="2024-05-29"),
        # Left by air on a renewed passport under a married name: the exact keys miss the link.
        _event("A2", "arrival", "2024-03-01", "COSTA", "CB222222", admission_class="WT", admitted_until="2024-05-29"),
        _event("D2", "departure", "2024-04-01", "COSTA SILVA", "CC333333"),
    ]
    store = MemoryStore()
    events = [parse_event(r) for r in rows]
    store.append_events(make_batch(events, ["t"] * 3, ["1", "2", "3"], ["a", "b", "c"]), [])
    resolve_identities(store, ADMIN)
    (tmp_path / "truth_identities.csv").write_text("event_id,person\nA1,p1\nA2,p2\nD2,p2\n", encoding="utf-8")
    (tmp_path / "truth_stays.csv").write_text(
        "arrival_event_id,status,authorized_until,overstay_days\nA1,departed,2024-05-29,0\nA2,departed,2024-05-29,0\n", encoding="utf-8"
    )
    result = measure_accuracy(store, tmp_path, list(determine_stays(store, AS_OF)), AS_OF)
    assert result.status is not None and result.status_with_true_identities is not None
    assert result.status.false_overstays == 2
    assert result.status_with_true_identities.false_overstays == 1  # the unrecorded exit
