"""Deterministic identity keys: the fallback when there is too little data to train a linkage model.

Pure core. Events with the same OCR-normalised document number and nationality are one person; a status
change or report without a document joins the arrival it references (admission_ref), else the exact
(surname, date of birth, nationality) key, as for
a placeholder or shared document number (``placeholders``); a correction joins the event it corrects. Nothing probabilistic: every link has probability None.
"""

from __future__ import annotations

import unicodedata
from typing import Iterable

from stayledger.domain.events import Event
from stayledger.identity.normalise import ocr_canonical
from stayledger.identity.placeholders import (
    copied_document_records,
    discounted_document_reason,
    first_given_key,
    shared_document_numbers,
)

def document_key(number: str) -> str:
    """Upper case, only letters and digits, OCR-confusable letters folded to digits."""
    return ocr_canonical(number)


def _plain_name(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.upper())
    return "".join(ch for ch in decomposed if "A" <= ch <= "Z")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        while parent != item:
            grand = self.parent.setdefault(parent, parent)
            self.parent[item] = grand
            item, parent = parent, grand
        return item

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def key_pairs(events: Iterable[Event]) -> tuple[list[str], list[tuple[str, str]]]:
    """All event ids, and the pairs the deterministic keys link (each event to its key's first holder)."""
    owner_of_key: dict[str, str] = {}
    references: list[tuple[str, str]] = []
    pairs: list[tuple[str, str]] = []
    ids: list[str] = []
    events = list(events)
    # A number given with several unrelated identities, or a known placeholder, is no key.
    shared = shared_document_numbers((e.document_number, _plain_name(e.surname), e.date_of_birth) for e in events)
    # ...and neither is a number a booking copied onto several travellers of one day's records.
    copied = copied_document_records(
        (e.event_id, e.document_number, e.kind, e.occurred_on, first_given_key(e.given_names), e.date_of_birth)
        for e in events
    )
    for event in events:
        ids.append(event.event_id)
        if event.corrects:
            references.append((event.event_id, event.corrects))  # a correction is the same person as its original
        if (event.document_number and event.event_id not in copied
                and discounted_document_reason(event.document_number, shared) is None):
            key = f"doc:{document_key(event.document_number)}:{event.nationality}"
        elif event.admission_ref:
            references.append((event.event_id, event.admission_ref))
            continue
        else:
            key = f"name:{_plain_name(event.surname)}:{event.date_of_birth}:{event.nationality}"
        owner = owner_of_key.setdefault(key, event.event_id)
        if owner != event.event_id:
            pairs.append((owner, event.event_id))
    known = set(ids)
    pairs.extend((a, b) for a, b in references if b in known)
    return ids, pairs


def cluster_by_keys(events: Iterable[Event]) -> dict[str, str]:
    """event_id -> cluster key (the smallest event_id in the cluster)."""
    ids, pairs = key_pairs(events)
    uf = _UnionFind()
    for event_id in ids:
        uf.find(event_id)
    for a, b in pairs:
        uf.union(a, b)
    return {event_id: uf.find(event_id) for event_id in ids}
