"""A resolved synthetic ledger with each kind of hold the stays job must carry: an overstay held because the review
queue asks whether another person's departure is this traveller's, one held because the traveller disputes a
record, and the grey-zone links the linkage model queued on its own."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from stayledger.domain.events import parse_event
from stayledger.storage.base import CorrectionCase, ReviewItem, make_batch
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.resolve import resolve_identities
from tests.access import ADMIN

AS_OF = date(2025, 12, 31)
HELD_ARRIVAL = {"event_id": "HELD-A", "kind": "arrival", "occurred_on": "2024-03-11", "source": "border",
                "surname": "MISHRA", "date_of_birth": "2004-12-07", "nationality": "IND", "document_number": "H8151480",
                "admission_class": "B2", "admitted_until": "2024-09-10"}
HELD_DEPARTURE = {"event_id": "HELD-D", "kind": "departure", "occurred_on": "2024-04-22", "source": "carrier",
                  "surname": "MISHRI", "date_of_birth": "2004-12-07", "nationality": "CZE", "document_number": "90740464"}
DISPUTED_ARRIVAL = {"event_id": "DISP-A", "kind": "arrival", "occurred_on": "2024-01-05", "source": "border",
                    "surname": "ØSTERGAARD", "date_of_birth": "1971-06-30", "nationality": "DNK", "document_number": "X77120455",
                    "admission_class": "B1", "admitted_until": "2024-04-04"}


def ledger_with_holds(trained_ledger: Path, tmp: Path) -> DuckDBStore:
    """A copy of the trained ledger with the two crafted holds added (resolved)."""
    path = tmp / "holds.duckdb"
    shutil.copy(trained_ledger, path)
    store = DuckDBStore(path)
    raws = [HELD_ARRIVAL, HELD_DEPARTURE, DISPUTED_ARRIVAL]
    store.append_events(make_batch([parse_event(r) for r in raws], ["t"] * 3, ["1", "2", "3"], ["a", "d", "x"]), [])
    resolve_identities(store, ADMIN)
    store.add_review_items([ReviewItem("HELD-A", "HELD-D", 0.89)])
    store.open_case(CorrectionCase("CASE-1", "DISP-A", "admitted_until", "2024-12-31", "I was admitted for a year", "h"))
    return store
