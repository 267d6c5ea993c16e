"""Linkage features: the events table turned into the columns the linkage model compares.

Name normalisation is pure Python (``normalise.py``) applied once per distinct value and spread
back with Arrow's dictionary encoding, so a million events cost one pass per distinct name.
Empty results become nulls so that Splink's null levels, not its "else" levels, see them.
"""

from __future__ import annotations

from typing import Callable, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stayledger.identity.normalise import (
    join_particles,
    normalise_document_number,
    ocr_canonical,
    parse_birth_date,
    phonetic_key,
    strip_particles,
    translit_key,
)
from stayledger.identity.placeholders import (
    copied_document_records,
    is_known_placeholder_document,
    shared_document_numbers_counted,
)

FEATURE_SCHEMA: Final = pa.schema(
    [
        pa.field("unique_id", pa.string(), nullable=False),
        pa.field("kind", pa.string()),
        pa.field("occurred_on", pa.date32()),
        # Surname: particles joined, spaces removed (``DE LA CRUZ`` -> ``DELACRUZ``).
        pa.field("surname", pa.string()),
        # Surname with particles stripped (``CRUZ``), its transliteration and phonetic keys.
        pa.field("surname_core", pa.string()),
        pa.field("surname_tk", pa.string()),
        pa.field("surname_ph", pa.string()),
        # The words of the surname (particles stripped), for compound surnames given in part.
        pa.field("surname_words", pa.list_(pa.string())),
        # Given names: particles joined, spaces removed; first given name; their keys.
        pa.field("given", pa.string()),
        pa.field("given_first", pa.string()),
        pa.field("given_tk", pa.string()),
        pa.field("given_first_tk", pa.string()),
        pa.field("given_ph", pa.string()),
        pa.field("given_initial", pa.string()),
        # Given names treated as a surname is (particles stripped, run together), and their words
        # with and without transliteration keys: lets a surname be compared with the other
        # record's given names when sources put the names in the wrong fields.
        pa.field("given_core", pa.string()),
        pa.field("given_words", pa.list_(pa.string())),
        pa.field("given_words_tk", pa.list_(pa.string())),
        pa.field("surname_words_tk", pa.list_(pa.string())),
        # Given names written as initials (``JAMES R``, ``J``): whether any word is a single letter,
        # the first letters of all words in order, and the keys of the words written out in full.
        pa.field("given_abbreviated", pa.bool_()),
        pa.field("given_initials", pa.string()),
        pa.field("given_full_words_tk", pa.list_(pa.string())),
        # Transliteration keys of every name word, sorted. Read by models trained before
        # ``name_words`` existed (kept so that stored models keep working until retrained).
        pa.field("name_words_tk", pa.string()),
        # The words of both name fields, particles stripped from each alike, sorted: equal when
        # the same words were written in other fields or in another order.
        pa.field("name_words", pa.string()),
        pa.field("dob", pa.string()),
        pa.field("dob_year", pa.int32()),
        pa.field("dob_month", pa.int32()),
        pa.field("dob_day", pa.int32()),
        pa.field("dob_full", pa.bool_()),
        pa.field("dob_jan1", pa.bool_()),
        # The year of a vague birth date (only a year or a month known, or 1 January, often a placeholder),
        # else empty: blocks such a record with everyone born that year without blocking everyone so.
        pa.field("dob_year_vague", pa.int32()),
        pa.field("sex", pa.string()),
        pa.field("nationality", pa.string()),
        pa.field("doc", pa.string()),
        pa.field("doc_ocr", pa.string()),
        # First and last four characters of the OCR-canonical number: one keying error leaves
        # one of them intact, so together they block a mistyped number's owner.
        pa.field("doc_head", pa.string()),
        pa.field("doc_tail", pa.string()),
        pa.field("document_issuer", pa.string()),
    ]
)
# The features a pair of records is compared on (all but the event's kind and date).
PAIR_COLUMNS: Final = tuple(f.name for f in FEATURE_SCHEMA if f.name not in ("kind", "occurred_on"))


def _or_none(text: str) -> str | None:
    return text or None


def _surname_values(raw: str) -> tuple[object, ...]:
    joined = join_particles(raw).replace(" ", "")
    core = strip_particles(raw)
    return (
        _or_none(joined),
        _or_none(core.replace(" ", "")),
        _or_none(translit_key(core).replace(" ", "")),
        _or_none(phonetic_key(raw)),
        core.split() or None,
        translit_key(core).split() or None,
    )


def _given_values(raw: str) -> tuple[object, ...]:
    words = join_particles(raw).split()
    first = words[0] if words else ""
    core = strip_particles(raw)
    return (
        _or_none("".join(words)),
        _or_none(first),
        _or_none(translit_key(" ".join(words)).replace(" ", "")),
        _or_none(translit_key(first)),
        _or_none(phonetic_key(first)),
        _or_none(first[:1]),
        _or_none(core.replace(" ", "")),
        core.split() or None,
        translit_key(core).split() or None,
        any(len(w) == 1 for w in core.split()),
        _or_none("".join(w[0] for w in core.split())),
        [translit_key(w) for w in core.split() if len(w) > 1],
    )


def _dob_values(raw: str) -> tuple[object, ...]:
    date = parse_birth_date(raw)
    full = date.day is not None
    return (
        raw if date.year is not None else None,
        date.year,
        date.month,
        date.day,
        full if date.year is not None else None,
        (full and date.month == 1 and date.day == 1) if date.year is not None else None,
    )


def _doc_values(raw: str) -> tuple[object, ...]:
    if is_known_placeholder_document(raw):  # not a document: weighs nothing, blocks nothing
        return (None, None)
    return (_or_none(normalise_document_number(raw)), _or_none(ocr_canonical(raw)))


_DOCUMENT_COLUMNS: Final = ("doc", "doc_ocr", "doc_head", "doc_tail")


def shared_documents_of(features: pa.Table) -> frozenset[str]:
    """OCR-canonical numbers the feature table gives with several unrelated identities (see
    ``placeholders.shared_document_numbers``)."""
    docs = features.column("doc_ocr")
    if docs.null_count == len(docs):
        return frozenset()
    mask = pc.is_valid(docs)
    # Counted per distinct (number, surname, birth date) in Arrow: the test reads only how often each occurs.
    counted = features.filter(mask).select(["doc_ocr", "surname_tk", "dob"]).group_by(["doc_ocr", "surname_tk", "dob"]).aggregate(
        [([], "count_all")]
    )
    columns = ("doc_ocr", "surname_tk", "dob", "count_all")
    return shared_document_numbers_counted(zip(*(counted.column(c).to_pylist() for c in columns)))


def discount_documents(features: pa.Table, numbers: frozenset[str] | set[str]) -> pa.Table:
    """The features with the document columns emptied where the number is one of ``numbers``
    (OCR-canonical): a shared number weighs nothing and blocks nothing, as if not given."""
    if not numbers or "doc_ocr" not in features.column_names:
        return features
    hit = pc.fill_null(pc.is_in(features.column("doc_ocr"), value_set=pa.array(sorted(numbers), pa.string())), False)
    return _empty_documents(features, hit)


def copied_document_rows(features: pa.Table) -> pa.Array | None:
    """Which rows carry a number copied onto several travellers' records of one day's crossings of one kind
    (``placeholders.copied_document_records``); None: no row. An Arrow grouping finds the few groups that
    could be copies (two given names and two birth dates), the rule itself decides on their rows."""
    docs = features.column("doc_ocr")
    if docs.null_count == len(docs):
        return None
    keys = ["doc_ocr", "kind", "occurred_on"]
    present = features.select(keys).append_column("row", pa.array(np.arange(features.num_rows, dtype=np.int64)))
    present = present.filter(pc.and_(pc.and_(pc.is_valid(docs), pc.is_valid(features.column("kind"))),
                                      pc.is_valid(features.column("occurred_on"))))
    counts = (present.append_column("given", features.column("given_first_tk").take(present.column("row")))
              .append_column("dob", features.column("dob").take(present.column("row")))
              .group_by(keys).aggregate([("given", "count_distinct"), ("dob", "count_distinct")]))
    could_be = counts.filter(pc.and_(pc.greater(counts.column("given_count_distinct"), 1),
                                     pc.greater(counts.column("dob_count_distinct"), 1)))
    if not could_be.num_rows:
        return None
    rows = present.join(could_be.select(keys), keys=keys, join_type="inner").column("row").to_numpy()
    candidates = features.take(pa.array(rows)).select([*keys, "given_first_tk", "dob"])
    copied = copied_document_records(zip(rows.tolist(), *(candidates.column(c).to_pylist() for c in candidates.column_names)))
    if not copied:
        return None
    hit = np.zeros(features.num_rows, dtype=bool)
    hit[sorted(copied)] = True
    return pa.array(hit)


def discount_copied_documents(features: pa.Table) -> pa.Table:
    """The features with the document columns emptied on rows whose number was copied (``copied_document_rows``)."""
    hit = copied_document_rows(features)
    return features if hit is None else _empty_documents(features, hit)


def _empty_documents(features: pa.Table, hit: pa.Array | pa.ChunkedArray) -> pa.Table:
    if not pc.any(hit).as_py():
        return features
    for name in _DOCUMENT_COLUMNS:
        if name in features.column_names:
            i = features.column_names.index(name)
            column = features.column(name)
            features = features.set_column(i, name, pc.if_else(hit, pa.nulls(len(column), column.type), column))
    return features


# A posted event is featured alone or in a small group: there Arrow's per-call costs (an encoding, then a take per
# output, some thirty calls an event) outweigh the rows, and a dictionary in Python gives the same arrays sooner.
SMALL_BATCH_ROWS: Final = 64


def _per_distinct(
    column: pa.ChunkedArray, compute: Callable[[str], tuple[object, ...]], types: list[pa.DataType]
) -> list[pa.Array]:
    """Apply ``compute`` once per distinct non-null value; return one array per output."""
    if len(column) <= SMALL_BATCH_ROWS:
        return _per_distinct_in_python(column, compute, types)
    return _per_distinct_in_arrow(column, compute, types)


def _per_distinct_in_arrow(
    column: pa.ChunkedArray, compute: Callable[[str], tuple[object, ...]], types: list[pa.DataType]
) -> list[pa.Array]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    dictionary = encoded.dictionary.to_pylist()
    results = [compute(value) for value in dictionary]
    outputs = []
    for i, type_ in enumerate(types):
        values = pa.array([r[i] for r in results], type=type_)
        outputs.append(values.take(encoded.indices) if len(values) else pa.nulls(len(column), type_))
    return outputs


def _per_distinct_in_python(
    column: pa.ChunkedArray, compute: Callable[[str], tuple[object, ...]], types: list[pa.DataType]
) -> list[pa.Array]:
    """``_per_distinct`` for a few rows: the same arrays (null where the value is null), without Arrow compute."""
    computed: dict[str, tuple[object, ...]] = {}
    rows: list[tuple[object, ...] | None] = []
    for value in column.to_pylist():
        if value is not None and value not in computed:
            computed[value] = compute(value)
        rows.append(None if value is None else computed[value])
    return [pa.array([None if row is None else row[i] for row in rows], type=type_) for i, type_ in enumerate(types)]


def _name_words_tk_of(pair: str) -> tuple[object, ...]:
    surname, given = pair.split(_FIELD_SEPARATOR)
    tokens = [translit_key(w) for w in strip_particles(surname).split()]
    tokens += translit_key(" ".join(join_particles(given).split())).split()
    return (" ".join(sorted(t for t in tokens if t)) or None,)


def _name_words_key(pairs: pa.ChunkedArray) -> pa.Array:
    """Sorted transliteration keys of every word of the surname (particles stripped) and the given names
    (computed once per distinct pair of names, not once per event; ``pairs``: ``_name_pairs``)."""
    (key,) = _per_distinct(pairs, _name_words_tk_of, [pa.string()])
    return key


_FIELD_SEPARATOR: Final = "\x1f"


def _name_pairs(surname: pa.ChunkedArray, given: pa.ChunkedArray) -> pa.ChunkedArray:
    """Both name fields joined by a separator that neither then holds (a name with that control character in it
    cut the pair in three; the words are split on whitespace, of which it is one, so a space changes no word)."""
    def field(names: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.replace_substring(pc.fill_null(names, ""), _FIELD_SEPARATOR, " ")

    return pc.binary_join_element_wise(field(surname), field(given), _FIELD_SEPARATOR)


def _name_words_of(pair: str) -> tuple[object, ...]:
    surname, given = pair.split(_FIELD_SEPARATOR)
    words = strip_particles(surname).split() + strip_particles(given).split()
    return (" ".join(sorted(words)) or None,)


def _name_words(pairs: pa.ChunkedArray) -> pa.Array:
    """Sorted words of both name fields, particles stripped from each field alike (per distinct pair of
    ``_name_pairs``)."""
    (words,) = _per_distinct(pairs, _name_words_of, [pa.string()])
    return words


def build_features(events: pa.Table) -> pa.Table:
    """The linkage feature table (``FEATURE_SCHEMA``) of an events table in ``EVENT_SCHEMA``.

    ``unique_id`` is the event_id. All event kinds carry identity fields and are treated alike. A number
    copied onto several travellers' records of one day (``copied_document_rows``) is emptied on those rows,
    so whatever the table holds decides: a batch, a group of posted events, a pair and its context.
    """
    n = events.num_rows
    string = pa.string()

    def column(name: str) -> pa.ChunkedArray:
        if name in events.column_names:
            return events.column(name)
        return pa.chunked_array([pa.nulls(n, string)])

    words = pa.list_(string)
    surname, surname_core, surname_tk, surname_ph, surname_words, surname_words_tk = _per_distinct(
        column("surname"), _surname_values, [string, string, string, string, words, words]
    )
    (given, given_first, given_tk, given_first_tk, given_ph, given_initial, given_core, given_words, given_words_tk,
     given_abbreviated, given_initials, given_full_words_tk) = _per_distinct(
        column("given_names"), _given_values, [string] * 7 + [words, words, pa.bool_(), string, words]
    )
    dob, year, month, day, full, jan1 = _per_distinct(
        column("date_of_birth"), _dob_values, [string, pa.int32(), pa.int32(), pa.int32(), pa.bool_(), pa.bool_()]
    )
    doc, doc_ocr = _per_distinct(column("document_number"), _doc_values, [string, string])
    name_pairs = _name_pairs(column("surname"), column("given_names"))  # joined once for both name-words features
    name_words = _name_words_key(name_pairs)

    columns = {
        "unique_id": column("event_id"),
        "kind": column("kind"),
        "occurred_on": column("occurred_on") if "occurred_on" in events.column_names else pa.nulls(n, pa.date32()),
        "surname": surname,
        "surname_core": surname_core,
        "surname_tk": surname_tk,
        "surname_ph": surname_ph,
        "surname_words": surname_words,
        "given": given,
        "given_first": given_first,
        "given_tk": given_tk,
        "given_first_tk": given_first_tk,
        "given_ph": given_ph,
        "given_initial": given_initial,
        "given_core": given_core,
        "given_words": given_words,
        "given_words_tk": given_words_tk,
        "surname_words_tk": surname_words_tk,
        "given_abbreviated": given_abbreviated,
        "given_initials": given_initials,
        "given_full_words_tk": given_full_words_tk,
        "name_words_tk": name_words,
        "name_words": _name_words(name_pairs),
        "dob": dob,
        "dob_year": year,
        "dob_month": month,
        "dob_day": day,
        "dob_full": full,
        "dob_jan1": jan1,
        "dob_year_vague": pc.if_else(pc.or_kleene(pc.invert(full), jan1), year, pa.scalar(None, pa.int32())),
        "sex": column("sex"),
        "nationality": column("nationality"),
        "doc": doc,
        "doc_ocr": doc_ocr,
        "doc_head": pc.utf8_slice_codeunits(doc_ocr, 0, 4),
        "doc_tail": pc.utf8_slice_codeunits(doc_ocr, -4, 2**31 - 1),
        "document_issuer": column("document_issuer"),
    }
    # A number a booking copied onto the party's records is evidence on none of them (``placeholders``).
    return discount_copied_documents(pa.table(columns, schema=FEATURE_SCHEMA))
