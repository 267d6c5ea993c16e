"""Placeholder values that look like evidence but are not: document numbers and birth dates.

Pure core. Feeds carry document numbers that are not a document: a form's example (123456789),
an "unknown" filled in by hand, a number every crew member of a manifest was given. Agreement on
such a number says nothing about identity, so it must weigh nothing. Two sources:

- a short bundled list and two shapes no issuer assigns (one character repeated, a run of
  consecutive digits), see ``is_known_placeholder_document``;
- frequency: a number that the records give with several unrelated identities (different surnames
  *and* different birth dates, none of them most of the number's records) is shared, see
  ``shared_document_numbers``. One traveller's own records vary by a typo or a transliteration, not
  by three surnames and three birth dates at once.

A third kind is tied to records, not to a number: a booking that copied the lead passenger's number onto
the whole party. Among one day's crossings of one kind, a number on the records of travellers who differ in
given name *and* in birth date cannot be all of theirs, and we cannot tell whose it is: on those records it
weighs nothing (``copied_document_records``); the owner's other records keep it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Final, Hashable, Iterable

from stayledger.identity.normalise import join_particles, ocr_canonical, translit_key

# Values keyed by hand when the number is unknown (OCR-canonical: O→0, I→1, S→5, ...).
_KNOWN_WORDS: Final = ("UNKNOWN", "UNK", "NONE", "NIL", "NULL", "NA", "NOTKNOWN", "NOTAVAILABLE", "TBA", "TBC",
                       "NOPASSPORT", "NODOC", "NONUMBER", "PASSPORT", "TEST", "DUMMY", "XXX")
KNOWN_PLACEHOLDER_DOCUMENTS: Final = frozenset(ocr_canonical(w) for w in _KNOWN_WORDS)
# Shorter runs (12345) can be the tail of a real number's digits; issuers use at least 6 characters.
_MIN_RUN: Final = 6
_DIGITS_UP: Final = "0123456789012345678"
_DIGITS_DOWN: Final = "9876543210987654321"

# A number given with at least this many different surnames and this many different birth dates...
SHARED_MIN_SURNAMES: Final = 3
SHARED_MIN_BIRTH_DATES: Final = 3
# ...and no single (surname, birth date) holding at least this share of its records. A frequent
# traveller's own identity dominates his number's records even with a few typos among hundreds.
SHARED_MAX_DOMINANT_SHARE: Final = 0.5


def is_known_placeholder_document(number: str | None) -> bool:
    """True for a number no issuer assigns: a bundled placeholder word (UNKNOWN, NONE, ...), one
    character repeated (000000000, XXXXXXX) or a run of consecutive digits (123456789, 987654321)."""
    key = ocr_canonical(number)
    if not key:
        return False
    if key in KNOWN_PLACEHOLDER_DOCUMENTS:
        return True
    if len(key) >= 3 and len(set(key)) == 1:
        return True
    return len(key) >= _MIN_RUN and key.isdigit() and (key in _DIGITS_UP or key in _DIGITS_DOWN)


def shared_document_numbers(records: Iterable[tuple[str | None, str | None, str | None]]) -> frozenset[str]:
    """OCR-canonical numbers that records ``(document number, surname key, birth date)`` give with
    several unrelated identities (see the module docstring). Known placeholders are not listed."""
    identities: dict[str, Counter[tuple[str | None, str | None]]] = defaultdict(Counter)
    for number, surname, birth_date in records:
        key = ocr_canonical(number)
        if key:
            identities[key][(surname, birth_date)] += 1
    shared = set()
    for key, counts in identities.items():
        if len(counts) < min(SHARED_MIN_SURNAMES, SHARED_MIN_BIRTH_DATES) or is_known_placeholder_document(key):
            continue
        surnames = {s for s, _ in counts if s}
        dates = {d for _, d in counts if d}
        total = sum(counts.values())
        if (
            len(surnames) >= SHARED_MIN_SURNAMES
            and len(dates) >= SHARED_MIN_BIRTH_DATES
            and max(counts.values()) < SHARED_MAX_DOMINANT_SHARE * total
        ):
            shared.add(key)
    return frozenset(shared)


def discounted_document_reason(number: str | None, shared: frozenset[str] | set[str] = frozenset()) -> str | None:
    """Why a document number is discounted (weighs nothing), or None when it counts."""
    if is_known_placeholder_document(number):
        return "a known placeholder"
    if ocr_canonical(number) in shared:
        return "shared by unrelated identities"
    return None


def copied_document_records(
    records: Iterable[tuple[Hashable, str | None, str | None, object, str | None, str | None]],
) -> frozenset[Hashable]:
    """The ids of records ``(id, document number, kind, day, given name key, birth date)`` whose number is
    on one day's records of one kind (a manifest, a day's border crossings) of at least two travellers
    who differ in given name and in birth date: copied from one of them onto the others (see the module
    docstring). A traveller sent twice on one manifest, or corrected in an update, differs in one at most."""
    groups: dict[tuple[str, str | None, object], list[tuple[Hashable, str | None, str | None]]] = defaultdict(list)
    for record_id, number, kind, day, given, birth_date in records:
        key = ocr_canonical(number)
        if key and day is not None and kind is not None:
            groups[(key, kind, day)].append((record_id, given, birth_date))
    copied: set[Hashable] = set()
    for members in groups.values():
        if any(g1 and g2 and d1 and d2 and g1 != g2 and d1 != d2
               for i, (_, g1, d1) in enumerate(members) for _, g2, d2 in members[i + 1:]):
            copied.update(record_id for record_id, _, _ in members)
    return frozenset(copied)


def first_given_key(given_names: str | None) -> str | None:
    """The key ``copied_document_records`` compares given names by: the first given name's transliteration
    key (the linkage features' ``given_first_tk``)."""
    words = join_particles(given_names or "").split()
    return translit_key(words[0]) or None if words else None
