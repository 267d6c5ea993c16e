"""Name pools per language group, and the spellings sources derive from a passport name.

Pure (standard library only). The pools live in ``name_pools.txt`` next to this module and are read
once, on first use. A name entry is a tuple of the Latin spellings real sources use for one name
(MUHAMMAD/MOHAMMED/MOHAMED); the first is the one most passports of the group carry. Native
spellings keep their diacritics; ``fold_ascii`` and ``mrz_form`` derive what a machine-readable
zone or an ASCII-only system writes, following ICAO Doc 9303 Part 3.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final

NameEntry = tuple[str, ...]

# Letters ICAO 9303 transliterates to two letters in the MRZ of German and Nordic passports.
_EXPANDED: Final[dict[str, str]] = {"Ä": "AE", "Ö": "OE", "Ü": "UE", "Å": "AA", "Ø": "OE"}
# Letters that Unicode decomposition does not reduce to a base letter.
_SPECIAL: Final[dict[str, str]] = {
    "ß": "SS", "ẞ": "SS", "Æ": "AE", "Œ": "OE", "Ø": "O", "Þ": "TH", "Ð": "D", "Đ": "D", "Ł": "L",
    "ı": "I", "Ħ": "H",
}
_APOSTROPHES: Final = "'’‘ʼ"
MRZ_NAME_LENGTH: Final = 39  # TD3 line 1, positions 6-44


@dataclass(frozen=True, slots=True)
class NameGroup:
    """The names of one language group and how its names are built and written."""

    key: str
    surnames: tuple[NameEntry, ...]
    male: tuple[NameEntry, ...]
    female: tuple[NameEntry, ...]
    second_given_rate: float  # a second given name (middle name, father's name …)
    compound_surname_rate: float  # two surnames (GARCÍA LÓPEZ, SILVA SANTOS)
    compound_keeps_last: bool  # shortening keeps the last surname (Portuguese usage) not the first
    family_name_first: bool  # written family name first at home: sources swap the order
    mrz_expands_umlauts: bool  # MRZ writes Ä as AE (German, Nordic) rather than A


# Per group: second given name, compound surname, shortening keeps last, family-name-first, MRZ AE.
_POLICIES: Final[dict[str, tuple[float, float, bool, bool, bool]]] = {
    "english": (0.30, 0.0, False, False, False),
    "irish": (0.30, 0.0, False, False, False),
    "french": (0.25, 0.0, False, False, False),
    "german": (0.30, 0.0, False, False, True),
    "italian": (0.10, 0.0, False, False, False),
    "spanish": (0.35, 0.85, False, False, False),
    "portuguese": (0.40, 0.60, True, False, False),
    "dutch": (0.40, 0.0, False, False, False),
    "nordic": (0.30, 0.0, False, False, True),
    "finnish": (0.45, 0.0, False, False, False),
    "polish": (0.15, 0.0, False, False, False),
    "czech": (0.05, 0.0, False, False, False),
    "hungarian": (0.10, 0.0, False, True, False),
    "russian": (0.0, 0.0, False, False, False),
    "ukrainian": (0.0, 0.0, False, False, False),
    "greek": (0.05, 0.0, False, False, False),
    "turkish": (0.20, 0.0, False, False, False),
    "arabic": (0.70, 0.0, False, False, False),
    "persian": (0.10, 0.0, False, False, False),
    "indian": (0.20, 0.0, False, False, False),
    "pakistani": (0.40, 0.0, False, False, False),
    "chinese": (0.0, 0.0, False, True, False),
    "japanese": (0.0, 0.0, False, True, False),
    "korean": (0.0, 0.0, False, True, False),
    "vietnamese": (0.0, 0.0, False, True, False),
    "filipino": (0.35, 0.0, False, False, False),
    "west_african": (0.40, 0.0, False, False, False),
    "hebrew": (0.15, 0.0, False, False, False),
}

# Vietnamese given names carry a middle name; these are the common ones, by sex.
VIETNAMESE_MIDDLE: Final[dict[str, tuple[str, ...]]] = {
    "M": ("VĂN", "VĂN", "VĂN", "ĐỨC", "MINH", "QUANG", "HỮU", "THANH"),
    "F": ("THỊ", "THỊ", "THỊ", "NGỌC", "THANH", "HỒNG", "THU", "KIM"),
}


def _parse_pools(text: str) -> dict[str, dict[str, tuple[NameEntry, ...]]]:
    """Read the block format of name_pools.txt into {group: {field: entries}}."""
    groups: dict[str, dict[str, list[str]]] = {}
    group: dict[str, list[str]] | None = None
    field: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line or line.lstrip().startswith("#"):
            continue
        if line.startswith("["):
            group = groups.setdefault(line.strip("[]"), {})
            field = None
        elif line[0].isspace():
            if group is None or field is None:
                raise ValueError(f"name_pools.txt line {number}: continuation outside a list")
            group[field].append(line.strip())
        else:
            if group is None:
                raise ValueError(f"name_pools.txt line {number}: list before any [group]")
            field, _, rest = line.partition(":")
            group[field] = [rest.strip()]
    parsed: dict[str, dict[str, tuple[NameEntry, ...]]] = {}
    for key, fields in groups.items():
        parsed[key] = {}
        for name, chunks in fields.items():
            items = [item.strip() for item in " ".join(chunks).split(",") if item.strip()]
            parsed[key][name] = tuple(tuple(item.split("/")) for item in items)
    return parsed


@lru_cache(maxsize=1)
def name_groups() -> dict[str, NameGroup]:
    """All language groups, read from the packaged pools on first use."""
    text = resources.files("stayledger.synth").joinpath("name_pools.txt").read_text(encoding="utf-8")
    groups = {}
    for key, fields in _parse_pools(text).items():
        second, compound, keeps_last, family_first, expands = _POLICIES[key]
        groups[key] = NameGroup(
            key=key,
            surnames=fields["surnames"],
            male=fields["male"],
            female=fields["female"],
            second_given_rate=second,
            compound_surname_rate=compound,
            compound_keeps_last=keeps_last,
            family_name_first=family_first,
            mrz_expands_umlauts=expands,
        )
    return groups


@lru_cache(maxsize=65536)
def fold_ascii(text: str, expand_umlauts: bool = False) -> str:
    """The text without diacritics: MÜLLER → MULLER (or MUELLER when expanding), ŁUKASZ → LUKASZ."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif expand_umlauts and ch in _EXPANDED:
            out.append(_EXPANDED[ch])
        elif ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base.isascii() else "")
    return "".join(out)


@lru_cache(maxsize=65536)
def mrz_form(text: str, expand_umlauts: bool = False) -> str:
    """A name as a machine-readable zone holds it: ASCII capitals and single spaces.

    Apostrophes are dropped (O'BRIEN → OBRIEN) and hyphens become spaces (JEAN-PIERRE → JEAN PIERRE).
    """
    folded = fold_ascii(text, expand_umlauts).upper()
    for mark in _APOSTROPHES:
        folded = folded.replace(mark, "")
    folded = folded.replace("-", " ")
    return " ".join(folded.split())


def mrz_truncate(surname: str, given: str | None) -> tuple[str, str | None]:
    """Cut a name to the 39-character TD3 name field and read it back, as a carrier swiping it would.

    The field is SURNAME<<GIVEN<NAMES; what does not fit is lost, possibly mid-word.
    """
    field = surname.replace(" ", "<") + ("<<" + given.replace(" ", "<") if given else "")
    if len(field) <= MRZ_NAME_LENGTH:
        return surname, given
    field = field[:MRZ_NAME_LENGTH]
    head, _, tail = field.partition("<<")
    new_surname = head.replace("<", " ").strip()
    new_given = tail.replace("<", " ").strip() or None
    return new_surname, new_given


def feminine_surname(surname: str, group: str) -> str:
    """The form a woman's surname takes in languages that inflect it (KOWALSKI → KOWALSKA)."""
    if group == "polish":
        for male, female in (("SKI", "SKA"), ("CKI", "CKA"), ("DZKI", "DZKA")):
            if surname.endswith(male):
                return surname[: -len(male)] + female
        return surname
    if group == "czech":
        if surname.endswith("Ý"):
            return surname[:-1] + "Á"
        if surname.endswith("A"):
            return surname[:-1] + "OVÁ"
        if surname.endswith("EK"):
            return surname[:-2] + "KOVÁ"
        if surname.endswith("EC"):
            return surname[:-2] + "COVÁ"
        return surname + "OVÁ"
    if group == "russian":
        if surname.endswith(("SKIY", "SKY")):
            return surname[: surname.rfind("SK")] + "SKAYA"
        if surname.endswith(("OV", "EV", "IN", "YN")):
            return surname + "A"
        return surname
    if group == "greek":
        for male, female in (("IDIS", "IDOU"), ("IDES", "IDOU"), ("OS", "OU"), ("IS", "I"), ("AS", "A")):
            if surname.endswith(male):
                return surname[: -len(male)] + female
        return surname
    return surname


def has_diacritics(text: str) -> bool:
    """True if the text holds any letter outside ASCII."""
    return not text.isascii()
