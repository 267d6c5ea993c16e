"""How each source writes a person's identity: spelling, script, typos, dates and document numbers.

Pure (standard library only). A source profile holds the rate of every kind of noise for records of
that source (per record, among the records where the noise is possible — a day/month swap needs a
day of 12 or less, a compound-surname shortening needs two surnames). The border writes arrivals
from the passport and is nearly clean; carriers write departures from bookings and document swipes
and are the noisiest; travellers type their own reports; adjudication copies application forms.
Every rate is documented in docs/synthetic-data.md.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from stayledger.synth.names import MRZ_NAME_LENGTH, fold_ascii, mrz_form, mrz_truncate
from stayledger.synth.population import Document, Person

NOISE_KINDS: Final = (
    "translit_variant",  # another Latin spelling of one name part (MOHAMED for MUHAMMAD)
    "compound_shortened",  # GARCÍA LÓPEZ → GARCÍA (SILVA SANTOS → SANTOS in Portuguese usage)
    "given_name_dropped",  # only the first given name kept (JOSÉ LUIS → JOSÉ)
    "mrz_truncated",  # the 39-character MRZ name field cut the name
    "diacritics_dropped",  # ASCII-only writing of a name that has diacritics (MÜLLER → MUELLER/MULLER)
    "typo",  # one edit: substitution by a neighbouring key, deletion, doubled letter, transposition
    "order_swapped",  # surname and given names exchanged
    "case_whitespace",  # mixed or lower case, doubled or outer spaces, hyphen/space exchange
    "dob_day_month_swap",  # 1990-03-07 → 1990-07-03
    "dob_jan1",  # the source wrote 1 January of the birth year
    "dob_partial",  # only YYYY-MM or YYYY
    "doc_ocr",  # one OCR confusion in the document number: 0/O, 1/I, 5/S, 8/B
    "doc_placeholder",  # a placeholder instead of the number (123456789, 000000000, UNKNOWN), shared by strangers
)


@dataclass(frozen=True, slots=True)
class SourceNoise:
    """Per-record noise rates of one source."""

    mrz_share: float  # written from the machine-readable zone (ASCII, maybe truncated)
    keep_diacritics: float  # typed records that keep diacritics
    translit_variant: float
    compound_shortened: float
    given_name_dropped: float
    typo: float
    order_swap_family_first: float  # names written family-name-first at home (CHN, JPN, KOR, VNM, HUN)
    order_swap_other: float
    case_whitespace: float
    dob_day_month_swap: float
    dob_jan1: float
    dob_partial: float
    doc_ocr: float
    doc_placeholder: float = 0.0


BORDER_NOISE: Final = SourceNoise(
    mrz_share=0.75, keep_diacritics=0.9, translit_variant=0.02, compound_shortened=0.02, given_name_dropped=0.0,
    typo=0.003, order_swap_family_first=0.01, order_swap_other=0.001, case_whitespace=0.005,
    dob_day_month_swap=0.002, dob_jan1=0.001, dob_partial=0.0, doc_ocr=0.003, doc_placeholder=0.0,
)
CARRIER_NOISE: Final = SourceNoise(
    mrz_share=0.70, keep_diacritics=0.15, translit_variant=0.15, compound_shortened=0.20, given_name_dropped=0.25,
    typo=0.02, order_swap_family_first=0.06, order_swap_other=0.005, case_whitespace=0.02,
    dob_day_month_swap=0.01, dob_jan1=0.005, dob_partial=0.002, doc_ocr=0.015, doc_placeholder=0.004,
)
TRAVELLER_NOISE: Final = SourceNoise(
    mrz_share=0.30, keep_diacritics=0.5, translit_variant=0.10, compound_shortened=0.15, given_name_dropped=0.20,
    typo=0.03, order_swap_family_first=0.05, order_swap_other=0.01, case_whitespace=0.30,
    dob_day_month_swap=0.01, dob_jan1=0.003, dob_partial=0.003, doc_ocr=0.01, doc_placeholder=0.003,
)
ADJUDICATION_NOISE: Final = SourceNoise(
    mrz_share=0.0, keep_diacritics=0.6, translit_variant=0.10, compound_shortened=0.10, given_name_dropped=0.05,
    typo=0.01, order_swap_family_first=0.03, order_swap_other=0.005, case_whitespace=0.02,
    dob_day_month_swap=0.005, dob_jan1=0.002, dob_partial=0.005, doc_ocr=0.005, doc_placeholder=0.001,
)
SOURCE_NOISE: Final[dict[str, SourceNoise]] = {
    "border": BORDER_NOISE, "carrier": CARRIER_NOISE, "traveller": TRAVELLER_NOISE, "adjudication": ADJUDICATION_NOISE,
}

# What sources write when the number is unknown or was not keyed: a form's example, a repeated digit, a
# word. Weighted by how often each is seen in manifest and form data (the first ones dominate). Some are
# on no bundled list (0, 12345): only their frequency across strangers gives them away.
PLACEHOLDER_DOCUMENTS: Final[tuple[tuple[str, float], ...]] = (
    ("123456789", 0.30), ("000000000", 0.12), ("12345678", 0.10), ("UNKNOWN", 0.10), ("999999999", 0.06),
    ("111111111", 0.05), ("NONE", 0.05), ("XXXXXXXXX", 0.04), ("1234567", 0.04), ("0", 0.04), ("12345", 0.03),
    ("NA", 0.03), ("987654321", 0.02), ("TBA", 0.02),
)

OCR_CONFUSIONS: Final[dict[str, str]] = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
# Neighbouring keys on a QWERTY keyboard: the usual substitution typo.
_NEIGHBOURS: Final[dict[str, str]] = {
    "A": "QSZW", "B": "VNGH", "C": "XVDF", "D": "SFER", "E": "WRDS", "F": "DGRT", "G": "FHTY", "H": "GJYU",
    "I": "UOKJ", "J": "HKUI", "K": "JLIO", "L": "KOP", "M": "NJK", "N": "BMHJ", "O": "IPLK", "P": "OL",
    "Q": "WA", "R": "ETDF", "S": "ADWE", "T": "RYFG", "U": "YIHJ", "V": "CBFG", "W": "QESA", "X": "ZCSD",
    "Y": "TUGH", "Z": "XAS",
}


_KIND_INDEX: Final[dict[str, int]] = {kind: index for index, kind in enumerate(NOISE_KINDS)}
(_TRANSLIT, _COMPOUND, _GIVEN_DROPPED, _MRZ_TRUNCATED, _DIACRITICS, _TYPO, _ORDER_SWAP, _CASE, _DOB_SWAP, _DOB_JAN1,
 _DOB_PARTIAL, _DOC_OCR, _DOC_PLACEHOLDER) = range(len(NOISE_KINDS))
_PLACEHOLDER_VALUES: Final = tuple(value for value, _ in PLACEHOLDER_DOCUMENTS)
_PLACEHOLDER_CUMULATIVE: Final = tuple(itertools.accumulate(weight for _, weight in PLACEHOLDER_DOCUMENTS))


class NoiseCounter:
    """Counts, per source and noise kind, how often noise was applied and how often it was possible."""

    def __init__(self) -> None:
        self.applied: dict[str, list[int]] = {source: [0] * len(NOISE_KINDS) for source in SOURCE_NOISE}
        self.eligible: dict[str, list[int]] = {source: [0] * len(NOISE_KINDS) for source in SOURCE_NOISE}

    def as_dict(self) -> dict[str, dict[str, dict[str, float]]]:
        """{source: {kind: {applied, eligible, rate}}}, in a stable order."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for source in SOURCE_NOISE:
            for index, kind in enumerate(NOISE_KINDS):
                eligible = self.eligible[source][index]
                if not eligible:
                    continue
                applied = self.applied[source][index]
                out.setdefault(source, {})[kind] = {
                    "applied": applied, "eligible": eligible, "rate": round(applied / eligible, 5),
                }
        return out


def _typo(rng: random.Random, text: str) -> str:
    positions = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(positions) < 3:
        return text
    # The first letter is rarely the mistyped one.
    index = rng.choice(positions[1:]) if rng.random() < 0.9 else positions[0]
    ch = text[index]
    op = rng.random()
    if op < 0.4:
        replacement = rng.choice(_NEIGHBOURS.get(fold_ascii(ch).upper()[:1], "AEIOU"))
        return text[:index] + (replacement if ch.isupper() else replacement.lower()) + text[index + 1:]
    if op < 0.65:
        return text[:index] + text[index + 1:]
    if op < 0.85:
        return text[:index] + ch + text[index:]
    if index + 1 < len(text) and text[index + 1].isalpha() and text[index + 1] != ch:
        return text[:index] + text[index + 1] + ch + text[index + 2:]
    return text[:index] + text[index + 1:]


def _case_whitespace(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.35:
        return text.title()
    if roll < 0.55:
        return text.lower()
    if roll < 0.75 and " " in text:
        return text.replace(" ", "  ", 1)
    if roll < 0.85 and ("-" in text or " " in text):
        return text.replace("-", " ") if "-" in text else text.replace(" ", "-", 1)
    return " " + text + " "


def _swap_day_month(dob: str) -> str | None:
    if len(dob) != 10:
        return None
    month, day = dob[5:7], dob[8:10]
    if month == day or int(day) > 12:
        return None
    return f"{dob[:4]}-{day}-{month}"


@lru_cache(maxsize=8192)
def _ocr_positions(number: str) -> tuple[int, ...]:
    """Positions of characters an OCR engine may confuse (recent documents are cached)."""
    return tuple(i for i, ch in enumerate(number) if ch in OCR_CONFUSIONS)


@dataclass(slots=True)
class Identity:
    """The identity fields one record carries, and the noise kinds applied to them."""

    surname: str
    given_names: str | None
    date_of_birth: str
    sex: str
    nationality: str
    document_type: str
    document_number: str
    document_issuer: str
    noise: list[str]
    surname_raw: str  # as written, possibly with outer spaces (JSON only)
    given_raw: str | None


class IdentityWriter:
    """Writes a person's identity the way each source would, counting the noise it applies."""

    def __init__(self, rng: random.Random, counter: NoiseCounter, *, placeholder_documents: bool = True) -> None:
        self.rng = rng
        self.counter = counter
        self.placeholder_documents = placeholder_documents
        self._person: Person | None = None
        self._variable: list[tuple[bool, int]] = []
        self._swapped_dob: str | None = None

    def _prepare(self, person: Person) -> None:
        """Facts about the person every record needs; computed once per person."""
        self._person = person
        self._variable = [(False, k) for k, e in enumerate(person.surname_parts) if len(set(e)) > 1]
        self._variable += [(True, k) for k, e in enumerate(person.given_parts) if len(set(e)) > 1]
        self._swapped_dob = None if person.dob_is_placeholder else _swap_day_month(person.dob)

    def write(self, person: Person, document: Document, source: str) -> Identity:
        """The identity as ``source`` writes it for ``person`` presenting ``document``."""
        if person is not self._person:
            self._prepare(person)
        rng = self.rng
        random_ = rng.random
        profile = SOURCE_NOISE[source]
        eligible = self.counter.eligible[source]
        applied = self.counter.applied[source]
        group = person.group
        noise: list[str] = []

        def hit(index: int) -> None:
            applied[index] += 1
            noise.append(NOISE_KINDS[index])

        surname_parts = [entry[i] for entry, i in zip(person.surname_parts, document.surname_spelling)]
        given_parts = [entry[i] for entry, i in zip(person.given_parts, document.given_spelling)]
        if self._variable:  # another transliteration of one name part that has several
            eligible[_TRANSLIT] += 1
            if random_() < profile.translit_variant:
                hit(_TRANSLIT)
                is_given, k = rng.choice(self._variable)
                entry = (person.given_parts if is_given else person.surname_parts)[k]
                parts = given_parts if is_given else surname_parts
                parts[k] = rng.choice([s for s in entry if s != parts[k]])
        if len(surname_parts) > 1:
            eligible[_COMPOUND] += 1
            if random_() < profile.compound_shortened:
                hit(_COMPOUND)
                surname_parts = [surname_parts[-1] if group.compound_keeps_last else surname_parts[0]]
        if len(given_parts) > 1 and group.key != "vietnamese":
            eligible[_GIVEN_DROPPED] += 1
            if random_() < profile.given_name_dropped:
                hit(_GIVEN_DROPPED)
                given_parts = given_parts[:1]
        surname = " ".join(surname_parts)
        given: str | None = " ".join(given_parts) or None

        native_diacritics = not surname.isascii() or (given is not None and not given.isascii())
        if random_() < profile.mrz_share:
            expand = group.mrz_expands_umlauts
            surname, given = mrz_form(surname, expand), (mrz_form(given, expand) if given else None)
            eligible[_MRZ_TRUNCATED] += 1
            if len(surname) + 2 + len(given or "") > MRZ_NAME_LENGTH:
                hit(_MRZ_TRUNCATED)
                surname, given = mrz_truncate(surname, given)
        elif native_diacritics and random_() >= profile.keep_diacritics:
            expand = group.mrz_expands_umlauts and random_() < 0.5
            surname, given = fold_ascii(surname, expand), (fold_ascii(given, expand) if given else None)
        if native_diacritics:
            eligible[_DIACRITICS] += 1
            if surname.isascii() and (given is None or given.isascii()):
                hit(_DIACRITICS)

        eligible[_TYPO] += 1
        if random_() < profile.typo:
            hit(_TYPO)
            if given and random_() < 0.4:
                given = _typo(rng, given)
            else:
                surname = _typo(rng, surname)
        if given is not None:
            eligible[_ORDER_SWAP] += 1
            if random_() < (profile.order_swap_family_first if group.family_name_first else profile.order_swap_other):
                hit(_ORDER_SWAP)
                surname, given = given, surname
        surname_raw, given_raw = surname, given
        eligible[_CASE] += 1
        if random_() < profile.case_whitespace:
            hit(_CASE)
            if given and random_() < 0.4:
                given_raw = _case_whitespace(rng, given)
            else:
                surname_raw = _case_whitespace(rng, surname)

        dob = person.dob
        swapped = self._swapped_dob
        if swapped is not None:
            eligible[_DOB_SWAP] += 1
        if swapped is not None and random_() < profile.dob_day_month_swap:
            hit(_DOB_SWAP)
            dob = swapped
        else:
            if dob[5:] != "01-01":
                eligible[_DOB_JAN1] += 1
            if dob[5:] != "01-01" and random_() < profile.dob_jan1:
                hit(_DOB_JAN1)
                dob = dob[:4] + "-01-01"
            else:
                eligible[_DOB_PARTIAL] += 1
                if random_() < profile.dob_partial:
                    hit(_DOB_PARTIAL)
                    dob = dob[:7] if random_() < 0.6 else dob[:4]

        number = document.number
        positions = _ocr_positions(number)
        if self.placeholder_documents and profile.doc_placeholder:
            eligible[_DOC_PLACEHOLDER] += 1
        if self.placeholder_documents and profile.doc_placeholder and random_() < profile.doc_placeholder:
            hit(_DOC_PLACEHOLDER)
            draw = random_() * _PLACEHOLDER_CUMULATIVE[-1]
            number = _PLACEHOLDER_VALUES[bisect.bisect_right(_PLACEHOLDER_CUMULATIVE, draw)]
        elif positions:
            eligible[_DOC_OCR] += 1
            if random_() < profile.doc_ocr:
                hit(_DOC_OCR)
                index = rng.choice(positions)
                number = number[:index] + OCR_CONFUSIONS[number[index]] + number[index + 1:]

        return Identity(
            surname=surname_raw.strip() or surname,
            given_names=given_raw.strip() if given_raw and given_raw.strip() else None,
            date_of_birth=dob,
            sex=person.sex,
            nationality=document.issuer,
            document_type=document.doc_type,
            document_number=number,
            document_issuer=document.issuer,
            noise=noise,
            surname_raw=surname_raw,
            given_raw=given_raw,
        )
