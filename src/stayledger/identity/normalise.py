"""Name, document-number and birth-date normalisation for identity resolution.

Pure core: standard library only. Every function is deterministic and idempotent, so the linkage
features built from them can be recomputed at any time and compared across sources.

Names go through three stages, each kept as its own comparison feature:

1. ``normalise_name``: ICAO Doc 9303 Part 3 transliteration to ASCII upper case, punctuation
   removed (apostrophes dropped, hyphens and MRZ fillers become spaces), single spaces.
2. Particles (``AL``, ``VAN DER``, ``DE LA`` …) either joined to the following word
   (``join_particles``) or stripped (``strip_particles``), because sources disagree on both.
3. Keys that collapse spelling variation: ``translit_key`` (a short list of rewrite rules,
   documented on the function) for comparison, ``phonetic_key`` (NYSIIS) for blocking.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final, NamedTuple

# ICAO Doc 9303 Part 3 recommended transliterations of Latin letters with diacritics that are not
# simply dropped. Keys are upper case: names are upper-cased before mapping.
_LATIN_SPECIAL: Final[dict[str, str]] = {
    "Ä": "AE", "Ö": "OE", "Ü": "UE", "Å": "AA", "Æ": "AE", "Ø": "OE", "Œ": "OE",
    "ß": "SS", "ẞ": "SS", "Þ": "TH", "Ð": "D", "Đ": "D", "Ł": "L", "Ħ": "H", "Ŧ": "T",
    "Ŀ": "L", "Ŋ": "N", "Ĳ": "IJ", "ı": "I",
}

# ICAO Doc 9303 Part 3 Cyrillic table (Russian, Ukrainian, Belarusian, Serbian, Macedonian letters).
_CYRILLIC: Final[dict[str, str]] = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Ґ": "G", "Д": "D", "Ђ": "D", "Ѓ": "G", "Е": "E",
    "Ё": "E", "Є": "IE", "Ж": "ZH", "З": "Z", "Ѕ": "DZ", "И": "I", "І": "I", "Ї": "I", "Й": "I",
    "Ј": "J", "К": "K", "Ќ": "K", "Л": "L", "Љ": "LJ", "М": "M", "Н": "N", "Њ": "NJ", "О": "O",
    "П": "P", "Р": "R", "С": "S", "Т": "T", "Ћ": "C", "У": "U", "Ў": "U", "Ф": "F", "Х": "KH",
    "Ц": "TS", "Ч": "CH", "Џ": "DZ", "Ш": "SH", "Щ": "SHCH", "Ъ": "IE", "Ы": "Y", "Ь": "",
    "Э": "E", "Ю": "IU", "Я": "IA",
}

# Modern Greek (ELOT 743 simplified, as used in Greek passports); accents are removed first.
_GREEK: Final[dict[str, str]] = {
    "Α": "A", "Β": "V", "Γ": "G", "Δ": "D", "Ε": "E", "Ζ": "Z", "Η": "I", "Θ": "TH", "Ι": "I",
    "Κ": "K", "Λ": "L", "Μ": "M", "Ν": "N", "Ξ": "X", "Ο": "O", "Π": "P", "Ρ": "R", "Σ": "S",
    "Τ": "T", "Υ": "Y", "Φ": "F", "Χ": "CH", "Ψ": "PS", "Ω": "O",
}

# Removed without leaving a gap (ICAO: O'CONNOR -> OCONNOR).
_APOSTROPHES: Final = frozenset("'’‘ʼʻ`´")

# Words that sources write joined, separated or left out. Longest sequences are matched first.
PARTICLES: Final[frozenset[str]] = frozenset({
    "AL", "EL", "ABD", "ABU", "BIN", "BEN", "IBN", "BINT", "BENT", "UL",
    "DE", "DA", "DI", "DO", "DOS", "DAS", "DEL", "DELA", "DELLA", "DELLE", "DEGLI", "LA", "LE", "LO",
    "LOS", "LAS", "DER", "DEN", "VAN", "VON", "TER", "TEN", "ZU", "ZUR", "MC", "MAC", "O", "ST",
})

# Characters OCR confuses in document numbers, mapped to the digit (OCR-B of ICAO 9303 MRZs, and
# hand-keyed copies of it): 0/O/D/Q, 1/I, 2/Z, 5/S, 6/G, 8/B.
OCR_CONFUSABLE: Final = {"O": "0", "D": "0", "Q": "0", "I": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}
_OCR_TO_DIGIT: Final = str.maketrans(OCR_CONFUSABLE)

_NON_ALNUM: Final = re.compile(r"[^A-Z0-9]")
_VOWELS: Final = frozenset("AEIOU")


@lru_cache(maxsize=262_144)
def normalise_name(text: str | None) -> str:
    """Transliterate a name to ICAO 9303 ASCII: upper-case A–Z words separated by single spaces.

    Umlauts expand (Ä→AE, Ö→OE, Ü→UE), other diacritics are dropped, Cyrillic and Greek follow
    the ICAO tables; apostrophes vanish, hyphens, MRZ fillers (``<``), digits and other
    punctuation separate words. Letters of other scripts are dropped (the result may be empty).
    """
    if not text:
        return ""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text).upper():
        if "A" <= char <= "Z":
            out.append(char)
        elif char in _APOSTROPHES:
            continue
        elif char in _LATIN_SPECIAL:
            out.append(_LATIN_SPECIAL[char])
        elif char in _CYRILLIC:
            out.append(_CYRILLIC[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            if base and all("A" <= c <= "Z" for c in base):
                out.append(base)
            elif base in _GREEK:
                out.append(_GREEK[base])
            elif base in _CYRILLIC:
                out.append(_CYRILLIC[base])
            elif base.upper() in _LATIN_SPECIAL:
                out.append(_LATIN_SPECIAL[base.upper()])
            elif char.isalpha() and not char.isascii():
                continue  # a letter of a script we do not transliterate
            else:
                out.append(" ")
    return " ".join("".join(out).split())


def name_tokens(name: str) -> tuple[str, ...]:
    """The words of a name after normalisation."""
    return tuple(normalise_name(name).split())


def _particle_runs(tokens: tuple[str, ...]) -> list[tuple[list[str], str | None]]:
    """Split tokens into (particles, following word) groups; trailing particles have no word."""
    groups: list[tuple[list[str], str | None]] = []
    pending: list[str] = []
    for token in tokens:
        if token in PARTICLES:
            pending.append(token)
        else:
            groups.append((pending, token))
            pending = []
    if pending:
        groups.append((pending, None))
    return groups


@lru_cache(maxsize=262_144)
def join_particles(name: str) -> str:
    """Join particles to the word they introduce: ``de la Cruz`` → ``DELACRUZ``, ``Al-Rashid`` → ``ALRASHID``."""
    return " ".join("".join(parts) + (word or "") for parts, word in _particle_runs(name_tokens(name)))


@lru_cache(maxsize=262_144)
def strip_particles(name: str) -> str:
    """Remove particles: ``van der Berg`` → ``BERG``. A name made only of particles is kept as is."""
    tokens = name_tokens(name)
    kept = [t for t in tokens if t not in PARTICLES]
    return " ".join(kept) if kept else " ".join(tokens)


# The transliteration-collapsing rewrite rules, applied in this order to each word.
# They merge the spellings that transliteration systems and clerks produce for one name.
_KEY_DIGRAPHS: Final[tuple[tuple[str, str], ...]] = (
    ("SHCH", "SH"),  # Щ: SHCH / SCH / SH
    ("TSCH", "CH"),  # German TSCH = CH
    ("SCH", "SH"),   # German SCH = SH
    ("TCH", "CH"),   # French TCH = CH
    ("DZH", "J"),    # Джамиль: DZHAMIL / JAMIL
    ("DJ", "J"),     # DJAMAL / JAMAL
    ("ZH", "J"),     # ZHANNA / JEANNE-style variation
    ("KH", "H"),     # Х: KHALED / HALED (and KH vs H in Arabic names)
    ("PH", "F"),     # STEPHAN / STEFAN
    ("TH", "T"),     # THOMAS / TOMAS
    ("CK", "K"),     # ERICK / ERIK
    ("KS", "X"),     # ALEKSANDR / ALEXANDER
    ("CS", "X"),
    ("Q", "K"),      # QASIM / KASIM
    ("C", "K"),      # CARL / KARL (after the CH/CK rules above)
    ("W", "V"),      # WALTER / VALTER, IVANOW / IVANOV
    ("Y", "I"),      # YURI / IURI, EVGENY / EVGENII
)
_LEADING_GLIDES: Final[tuple[tuple[str, str], ...]] = (
    ("IE", "E"),  # YELENA / IELENA / ELENA
    ("IO", "O"),  # YOSEF / IOSEF
    ("OU", "U"),  # OUSSAMA / USAMA
    ("AE", "A"), ("OE", "O"), ("UE", "U"),  # umlaut expansions at the start
)


# Written abbreviations of a name, conventional in passports and bookings of South and Southeast
# Asia (MD ALI, MOHD RAZAK): keyed as the name they stand for.
_NAME_ABBREVIATIONS: Final = {"MD": "MOHAMMAD", "MOHD": "MOHAMMAD", "MUHD": "MUHAMMAD", "MHD": "MOHAMMAD"}


def _key_of_word(word: str) -> str:
    word = _NAME_ABBREVIATIONS.get(word, word)
    for old, new in _KEY_DIGRAPHS:
        word = word.replace(old, new)
    for old, new in _LEADING_GLIDES:
        if word.startswith(old):
            word = new + word[len(old):]
            break
    # An H that only lengthens a vowel or ends the word carries nothing (MOHAMMED / MUHAMAD, ABDULLAH).
    word = word[0] + "".join(
        c for i, c in enumerate(word[1:], start=1)
        if not (c == "H" and (i == len(word) - 1 or word[i - 1] in _VOWELS))
    ) if word else word
    collapsed: list[str] = []
    for c in word:
        if c in _VOWELS:
            c = "A"  # every vowel counts as one vowel sound (OLEKSANDR / ALEKSANDR)
        if collapsed and collapsed[-1] == c:
            continue  # double letters and vowel runs collapse
        collapsed.append(c)
    return "".join(collapsed)


@lru_cache(maxsize=262_144)
def translit_key(name: str) -> str:
    """A key that is equal for common transliteration variants of a name (per word, space-separated).

    Rules, in order: the digraph rewrites of ``_KEY_DIGRAPHS`` (SHCH→SH, SCH→SH, DZH/DJ/ZH→J,
    KH→H, PH→F, TH→T, CK→K, KS→X, Q→K, C→K, W→V, Y→I); leading glides IE/IO/OU/AE/OE/UE reduced
    to their vowel; an H after a vowel or at the end dropped; every vowel (the first letter too)
    becomes A; repeated letters collapse. So MÜLLER/MUELLER/MULLER → MALAR,
    MOHAMMED/MUHAMMAD/MOHAMED (and the abbreviations MD/MOHD) → MAMAD, YEVGENIY/EVGENY → AVGANA,
    OLEKSANDR/ALEKSANDR → ALAXANDR,
    and ALEXANDER differs from those only by one vowel (near under Jaro-Winkler).
    """
    return " ".join(_key_of_word(w) for w in normalise_name(name).split())


def _nysiis_word(word: str) -> str:
    """NYSIIS (New York State Identification and Intelligence System), the original algorithm."""
    if not word:
        return ""
    for old, new in (("MAC", "MCC"), ("KN", "NN"), ("K", "C"), ("PH", "FF"), ("PF", "FF"), ("SCH", "SSS")):
        if word.startswith(old):
            word = new + word[len(old):]
            break
    for old, new in (("EE", "Y"), ("IE", "Y"), ("DT", "D"), ("RT", "D"), ("RD", "D"), ("NT", "D"), ("ND", "D")):
        if word.endswith(old):
            word = word[: -len(old)] + new
            break
    key = [word[0]]
    chars = list(word)
    i = 1
    while i < len(chars):
        c = chars[i]
        if chars[i : i + 2] == ["E", "V"]:
            chars[i : i + 2] = ["A", "F"]
        elif c in _VOWELS:
            chars[i] = "A"
        elif c == "Q":
            chars[i] = "G"
        elif c == "Z":
            chars[i] = "S"
        elif c == "M":
            chars[i] = "N"
        elif chars[i : i + 2] == ["K", "N"]:
            chars[i] = "N"
        elif c == "K":
            chars[i] = "C"
        elif chars[i : i + 3] == ["S", "C", "H"]:
            chars[i : i + 3] = ["S", "S", "S"]
        elif chars[i : i + 2] == ["P", "H"]:
            chars[i : i + 2] = ["F", "F"]
        elif c == "H" and (chars[i - 1] not in _VOWELS or (i + 1 < len(chars) and chars[i + 1] not in _VOWELS)):
            chars[i] = chars[i - 1]
        elif c == "W" and chars[i - 1] in _VOWELS:
            chars[i] = chars[i - 1]
        if chars[i] != key[-1]:
            key.append(chars[i])
        i += 1
    if len(key) > 1 and key[-1] == "S":
        key.pop()
    if len(key) > 2 and key[-2:] == ["A", "Y"]:
        key[-2:] = ["Y"]
    if len(key) > 1 and key[-1] == "A":
        key.pop()
    return "".join(key)


@lru_cache(maxsize=262_144)
def phonetic_key(name: str, max_length: int = 6) -> str:
    """NYSIIS code of the name's transliteration key, particles stripped, words run together.

    Used for blocking. Coding the key rather than the raw spelling makes the code agree across
    transliterations (YEVGENIY / EVGENY). Truncated to ``max_length`` characters as in the
    original algorithm; ``""`` for an empty name.
    """
    return _nysiis_word(translit_key(strip_particles(name)).replace(" ", ""))[:max_length]


def is_name_swap(surname_a: str, given_a: str, surname_b: str, given_b: str) -> bool:
    """True when B's surname is A's given name and the other way round (East Asian name order,
    or fields filled in the wrong order), compared by transliteration keys with words run together."""
    sa, ga, sb, gb = (translit_key(x).replace(" ", "") for x in (surname_a, given_a, surname_b, given_b))
    return bool(sa and ga) and sa != ga and sa == gb and ga == sb


def could_be_truncated(short: str, full: str, min_length: int = 4) -> bool:
    """True when ``short`` may be ``full`` cut off (MRZ name field full, compound name shortened).

    Compared without spaces, so ``GARCIA LOPEZ`` → ``GARCIALO`` and ``GARCIA`` both qualify.
    """
    s, f = normalise_name(short).replace(" ", ""), normalise_name(full).replace(" ", "")
    return len(s) >= min_length and len(s) < len(f) and f.startswith(s)


@lru_cache(maxsize=262_144)
def normalise_document_number(text: str | None) -> str:
    """Upper case with spaces, hyphens, MRZ fillers and other punctuation removed."""
    if not text:
        return ""
    return _NON_ALNUM.sub("", text.upper())


def ocr_canonical(number: str | None) -> str:
    """The document number with OCR-confusable letters replaced by digits (O/D/Q→0, I→1, Z→2, S→5, G→6, B→8).

    Two numbers that differ only by those confusions have equal canonical forms.
    """
    return normalise_document_number(number).translate(_OCR_TO_DIGIT)


class PartialDate(NamedTuple):
    """A birth date whose month or day may be unknown (None)."""

    year: int | None
    month: int | None
    day: int | None


def parse_birth_date(text: str | None) -> PartialDate:
    """Parse ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; unknown or unreadable parts are None."""
    parts = (text or "").strip().split("-")
    values: list[int | None] = []
    for part, width in zip(parts, (4, 2, 2)):
        values.append(int(part) if len(part) == width and part.isdigit() else None)
    values += [None] * (3 - len(values))
    year, month, day = values
    if month is not None and not 1 <= month <= 12:
        month, day = None, None
    if day is not None and not 1 <= day <= 31:
        day = None
    if year is None:
        return PartialDate(None, None, None)
    return PartialDate(year, month, day if month is not None else None)


def is_placeholder_birth_date(text: str | None) -> bool:
    """True for a full date on 1 January, which many issuers use when only the year is known."""
    date = parse_birth_date(text)
    return date.month == 1 and date.day == 1
