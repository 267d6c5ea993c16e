"""Properties of normalisation that must hold for any input."""

from __future__ import annotations

import re
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.identity.normalise import (
    join_particles,
    normalise_document_number,
    normalise_name,
    ocr_canonical,
    parse_birth_date,
    phonetic_key,
    strip_particles,
    translit_key,
)

NAME_OUTPUT = re.compile(r"^([A-Z]+( [A-Z]+)*)?$")
names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "M", "Zs", "Pd", "Po", "Nd")), max_size=30
) | st.sampled_from(["Müller", "Щербаков", "O'Connor", "de la Cruz", "Þór", "Nguyễn", "SMITH<<JOHN"])
OCR_PAIRS = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}
doc_chars = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=12)


@settings(max_examples=300)
@given(names)
def test_normalised_names_are_ascii_upper_words(raw: str) -> None:
    assert NAME_OUTPUT.match(normalise_name(raw))


@settings(max_examples=300)
@given(names)
def test_normalising_twice_equals_normalising_once(raw: str) -> None:
    once = normalise_name(raw)
    assert normalise_name(once) == once
    assert join_particles(join_particles(raw)) == join_particles(raw)
    assert strip_particles(strip_particles(raw)) == strip_particles(raw)


@settings(max_examples=300)
@given(names)
def test_keys_are_upper_ascii_and_stable_under_renormalisation(raw: str) -> None:
    key = translit_key(raw)
    assert NAME_OUTPUT.match(key)
    assert translit_key(normalise_name(raw)) == key
    assert re.fullmatch(r"[A-Z]{0,6}", phonetic_key(raw))


@settings(max_examples=200)
@given(doc_chars, st.data())
def test_ocr_confused_numbers_have_the_same_canonical_form(number: str, data: st.DataObject) -> None:
    confused = "".join(
        OCR_PAIRS[c] if c in OCR_PAIRS and data.draw(st.booleans()) else c for c in number
    )
    assert ocr_canonical(confused) == ocr_canonical(number)


@settings(max_examples=200)
@given(st.text(max_size=20))
def test_document_numbers_normalise_to_upper_alphanumerics_idempotently(raw: str) -> None:
    once = normalise_document_number(raw)
    assert re.fullmatch(r"[A-Z0-9]*", once)
    assert normalise_document_number(once) == once
    assert ocr_canonical(ocr_canonical(raw)) == ocr_canonical(raw)


@settings(max_examples=200)
@given(st.dates(), st.sampled_from([4, 7, 10]))
def test_birth_dates_keep_exactly_the_known_parts(day: object, width: int) -> None:
    text = day.isoformat()[:width]  # type: ignore[attr-defined]
    parsed = parse_birth_date(text)
    assert parsed.year == day.year  # type: ignore[attr-defined]
    assert parsed.month == (day.month if width >= 7 else None)  # type: ignore[attr-defined]
    assert parsed.day == (day.day if width == 10 else None)  # type: ignore[attr-defined]
