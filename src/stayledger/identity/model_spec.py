"""The linkage model's specification: what is compared, how, and which pairs are compared at all.

Engine-independent and pure (it builds Splink settings as data and SQL conditions as text). The domain
model of evidence lives in ``comparisons``: which disagreements are typos and which are evidence against
a match. Two rules matter most for travellers:

- Document numbers are equal, equal up to OCR confusions, or different. Never "close": family
  members carry consecutive numbers, so one digit off is another person, not a typo.
- A different nationality is a level with its own weight, not a block: dual nationals travel on
  either passport.
- Names written in each other's fields (East Asian order, compound surnames split differently)
  are weighed once, under surname, and only when both names cross over: a twin whose record has
  its fields swapped shares only the surname and stays apart.

The conditions use DuckDB's SQL (``jaro_winkler_similarity``, ``damerau_levenshtein``, list functions); the
Spark engine renders them for Spark SQL in one place, ``sql_dialects`` (a new function used here needs a
rendering there when Spark's differs; ``tests/spark/test_sql_dialects.py`` checks every condition on both).
"""

from __future__ import annotations

from typing import Any, Final

from stayledger.identity.clustering import FAMILY_NUMBER_MAX_GAP

# Below this many events EM has too few pairs to estimate m reliably; callers fall back to
# deterministic keys (document number + date of birth).
TOO_SMALL_TO_TRAIN: Final = 500
# Name columns whose exact agreement is weighed by how common the name is (term frequencies).
TF_COLUMNS: Final = ("surname", "given")
# The condition of a comparison's last level: whatever no earlier level matched.
ELSE_LEVEL: Final = "ELSE"

# Fixed m and u of the consecutive-document-number level: a Bayes factor of 2^-13 (weight -13).
# Strong enough that twins (same surname and birth date, similar given names) stay apart; weak
# enough that one person's keying error in the last digits still links when all else agrees.
FAMILY_NUMBER_U: Final = 0.5
FAMILY_NUMBER_M: Final = FAMILY_NUMBER_U * 2.0**-13
# Fixed m and u of "another given name under the same surname": also a Bayes factor of 2^-13.
RELATIVE_U: Final = 0.5
RELATIVE_M: Final = RELATIVE_U * 2.0**-13
# m = u for a number one keying error away (outside the last two characters): weight 0.
MISTYPED_NUMBER_MU: Final = 0.001


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _null(column: str) -> dict[str, Any]:
    return _level(f"{column}_l IS NULL OR {column}_r IS NULL", "missing on one side", is_null_level=True)


# Name fields swapped (East Asian name order, a form filled in the wrong order, a Hispanic
# compound surname split differently): the same words, particles stripped from both fields alike.
_SWAPPED: Final = "name_words_l = name_words_r"


def _crosses(left: str, right: str, partial: str) -> str:
    """Condition: the ``left`` name field of the left record agrees with the ``right`` name field
    of the right record up to spelling (same words without particles, same transliteration, or a
    typo: Jaro-Winkler >= 0.9 run together) or in part (the SQL condition ``partial``)."""
    return (
        f"({left}_core_l = {right}_core_r OR {left}_tk_l = {right}_tk_r "
        f"OR jaro_winkler_similarity({left}_core_l, {right}_core_r) >= 0.9 OR {partial})"
    )


def _prefix(left: str, right: str) -> str:
    """Condition: one list is the other with words left out at the end (a middle name dropped)."""
    return (
        f"(len({left}) < len({right}) AND list_slice({right}, 1, len({left})) = {left}) "
        f"OR (len({right}) < len({left}) AND list_slice({left}, 1, len({right})) = {right})"
    )


def _either_end(left: str, right: str) -> str:
    """Condition: one list is the other with words left out at one end (either end)."""
    return (
        f"{_prefix(left, right)} "
        f"OR (len({left}) < len({right}) AND list_slice({right}, len({right}) - len({left}) + 1, len({right})) = {left}) "
        f"OR (len({right}) < len({left}) AND list_slice({left}, len({left}) - len({right}) + 1, len({left})) = {right})"
    )


# Both names crossed over to the other field, each up to a spelling difference or shortened at
# one end (a compound surname given by its first or last word, later given names left out).
# Which record has its fields swapped is unknown, so both halves are held to the same bar; a
# single shared word is not enough (siblings share given-name elements: THU ANH / THU HUYEN), and
# requiring both halves keeps twins apart (a swapped twin record shares only the surname).
_CROSSED: Final = (
    f"({_crosses('surname', 'given', _either_end('surname_words_tk_l', 'given_words_tk_r'))}"
    f" AND {_crosses('given', 'surname', _either_end('given_words_tk_l', 'surname_words_tk_r'))})"
)
_HALF_CROSSED: Final = (
    "surname_core_l = given_core_r OR surname_tk_l = given_tk_r "
    "OR given_core_l = surname_core_r OR given_tk_l = surname_tk_r"
)
# One record writes some given names as initials, in the other's order, and the names it writes
# out in full are the other's (J R / JAMES ROBERT; later names may be left out: J / JAMES ROBERT).
_INITIALS: Final = (
    "(given_abbreviated_l AND starts_with(given_initials_r, given_initials_l) "
    "AND list_has_all(given_words_tk_r, given_full_words_tk_l)) "
    "OR (given_abbreviated_r AND starts_with(given_initials_l, given_initials_r) "
    "AND list_has_all(given_words_tk_l, given_full_words_tk_r))"
)
# Surnames that agree in the same field (the surname levels before the swap levels).
_SURNAME_AGREES: Final = "surname_core_l = surname_core_r OR surname_tk_l = surname_tk_r"
# The given-name comparison sees a swap too; when the surname comparison counted it (the surnames
# do not agree in place), its weight is carried there alone, because one swap counted by two
# comparisons (Fellegi-Sunter assumes them independent) would outweigh a conflicting birth date.
SWAP_IN_GIVEN_MU: Final = 0.001
# Transliteration keys collapse vowels, so short keys (one- or two-syllable Korean, Chinese and
# Vietnamese given names) score high on Jaro-Winkler while naming different people (HYUN JOO /
# HYE JIN). Key similarity counts only for keys with at least this many letters.
MIN_KEY_LENGTH_FOR_SIMILARITY: Final = 6


# The same travel document on both records: equal number (up to OCR confusions, or two adjacent
# characters swapped, a keying error issuing sequences never produce) from the same issuer (the
# issuing state, else the nationality when the source gives no issuer). Twins and relatives never
# share a document, so on one document a different given name is a data error (a typo, a name
# keyed from another field), not a relative. Unknown issuers on both sides count
# as the same only through the nationality; an unknown on one side only is not the same document.
_SAME_DOCUMENT: Final = (
    "coalesce((doc_ocr_l = doc_ocr_r OR (length(doc_ocr_l) = length(doc_ocr_r) "
    "AND damerau_levenshtein(doc_ocr_l, doc_ocr_r) = 1 AND levenshtein(doc_ocr_l, doc_ocr_r) = 2)) "
    "AND coalesce(document_issuer_l, nationality_l) = coalesce(document_issuer_r, nationality_r), FALSE)"
)


def _jw(column: str, threshold: float, *, min_length: int = 0) -> str:
    """Jaro-Winkler on the names (each at least ``min_length`` letters) or on long enough keys."""
    shortest = f" AND least(length({column}_l), length({column}_r)) >= {min_length}" if min_length else ""
    return (
        f"(jaro_winkler_similarity({column}_l, {column}_r) >= {threshold}{shortest}) "
        f"OR (jaro_winkler_similarity({column}_tk_l, {column}_tk_r) >= {threshold} "
        f"AND least(length({column}_tk_l), length({column}_tk_r)) >= {MIN_KEY_LENGTH_FOR_SIMILARITY})"
    )


# Short surnames are whole names, not spellings of each other: one letter changes a two- or
# three-letter name into another family's (KIM / KIN, HAN / HAO), yet leaves Jaro-Winkler near 0.9.
# Similarity counts for surnames of at least this many letters; shorter ones agree exactly, by
# transliteration key or not at all.
MIN_SURNAME_LENGTH_FOR_SIMILARITY: Final = 4


# One side states only a year: a 1 January placeholder or a partial date (YYYY, YYYY-MM).
_YEAR_ONLY: Final = "(dob_jan1_l OR dob_jan1_r OR NOT dob_full_l OR NOT dob_full_r)"
ESTIMATED_YEAR_MU: Final = 0.001


def comparisons(*, for_training: bool = False) -> list[dict[str, Any]]:
    """The comparisons of the linkage model as Splink settings dicts (levels strongest first).

    ``for_training`` leaves the document out of the given-name comparison's relative level (see
    ``train_model``); the levels, their order and their fixed weights are the same.
    """
    relative = "surname_l = surname_r" if for_training else f"surname_l = surname_r AND NOT {_SAME_DOCUMENT}"
    surname = {
        "output_column_name": "surname",
        "comparison_description": "surname after ICAO transliteration",
        "comparison_levels": [
            _null("surname"),
            _level("surname_l = surname_r", "exact", tf_adjustment_column="surname", tf_adjustment_weight=1.0),
            _level(_SURNAME_AGREES, "same without particles or same transliteration"),
            _level(_SWAPPED, "same name words, surname and given names swapped"),
            _level(_CROSSED, "surname and given names swapped, with spelling differences"),
            _level(_jw("surname", 0.92, min_length=MIN_SURNAME_LENGTH_FOR_SIMILARITY), "very similar (Jaro-Winkler >= 0.92)"),
            _level(
                "list_has_any(surname_words_l, surname_words_r) "
                "OR (length(surname_r) >= 4 AND starts_with(surname_l, surname_r)) "
                "OR (length(surname_l) >= 4 AND starts_with(surname_r, surname_l))",
                "shares a word or is truncated (compound or MRZ-cut surname)",
            ),
            # Fields swapped and one of the two names also spelt another way (a second
            # romanisation: LEE / RHEE, HU / WOO): one name agrees across the fields. Only this
            # comparison counts it; the given-name comparison still weighs the other, differing
            # half, so a twin whose record has its fields swapped (shared surname only) stays apart.
            _level(_HALF_CROSSED, "one name found in the other field (swapped, other name differs)"),
            _level(_jw("surname", 0.80, min_length=MIN_SURNAME_LENGTH_FOR_SIMILARITY), "similar (Jaro-Winkler >= 0.80)"),
            _level(ELSE_LEVEL, "different"),
        ],
    }
    given = {
        "output_column_name": "given_names",
        "comparison_description": "given names after ICAO transliteration",
        "comparison_levels": [
            _null("given"),
            _level("given_l = given_r", "exact", tf_adjustment_column="given", tf_adjustment_weight=1.0),
            _level("given_tk_l = given_tk_r", "same transliteration"),
            # One record left out the later given names (MRZ space, a form with one field). Only
            # at the end: a record whose names are a middle part of another's (PATRICIA of MARIA
            # PATRICIA) is as likely a sibling (PATRICIA CARMEN) and goes to the relative level.
            _level(_prefix("given_words_tk_l", "given_words_tk_r"), "the first given names of the other (later names left out)"),
            _level(_INITIALS, "the other's given names as initials (J / JAMES, JAMES R / JAMES ROBERT)"),
            _level("list_sort(given_words_tk_l) = list_sort(given_words_tk_r)", "same given names in another order"),
            _level(
                f"({_SWAPPED} OR {_CROSSED}) AND NOT ({_SURNAME_AGREES})",
                "surname and given names swapped (weighed under surname)",
                m_probability=SWAP_IN_GIVEN_MU,
                u_probability=SWAP_IN_GIVEN_MU,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(_jw("given", 0.92), "very similar (Jaro-Winkler >= 0.92)"),
            # One letter changed, added, dropped or two swapped in a name of four letters or more
            # (AMBER / AMGER) is a typo, which Jaro-Winkler scores low on short names; relatives'
            # names are other names, not one keystroke apart.
            _level(
                "least(length(given_l), length(given_r)) >= 4 AND abs(length(given_l) - length(given_r)) <= 1 "
                "AND damerau_levenshtein(given_l, given_r) <= 1",
                "one letter apart (a typo)",
            ),
            # Another given name under the same surname is a relative (twins share the birth date
            # too); as for consecutive passports, the weight is fixed as evidence against. Checked
            # before the weaker similarities: siblings' names often share a first name or a
            # syllable (MARIA JOSE / MARIA ELENA, THU ANH / THU HUYEN, MIN JUN / MIN SEO).
            # Not on one and the same document, which relatives never share (see _SAME_DOCUMENT);
            # there the given names are weighed by the trained levels below like any typo.
            _level(
                relative,
                "another given name under the same surname (a relative)",
                m_probability=RELATIVE_M,
                u_probability=RELATIVE_U,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level("given_first_l = given_first_r OR given_first_tk_l = given_first_tk_r", "same first given name (other given names differ)"),
            _level(_jw("given", 0.80), "similar (Jaro-Winkler >= 0.80)"),
            _level("given_initial_l = given_initial_r", "same initial"),
            _level(ELSE_LEVEL, "different"),
        ],
    }
    full = "dob_full_l AND dob_full_r"
    dob = {
        "output_column_name": "date_of_birth",
        "comparison_description": "date of birth, possibly partial (YYYY-MM or YYYY)",
        "comparison_levels": [
            _null("dob"),
            _level("dob_l = dob_r AND dob_full_l AND NOT dob_jan1_l", "exact"),
            _level("dob_l = dob_r AND dob_full_l", "exact on 1 January (often a placeholder)"),
            _level(
                f"{full} AND dob_year_l = dob_year_r AND dob_month_l = dob_day_r AND dob_day_l = dob_month_r",
                "day and month swapped",
            ),
            # Not when both are 1 January: a placeholder's day and month say nothing, so its year
            # is all the date there is, and another year is another date (1973 / 1979).
            _level(
                f"{full} AND NOT (dob_jan1_l AND dob_jan1_r) AND damerau_levenshtein(dob_l, dob_r) <= 1",
                "one digit off or two digits transposed",
            ),
            _level("dob_year_l = dob_year_r AND (dob_jan1_l OR dob_jan1_r)", "same year, one side 1 January (placeholder)"),
            _level(
                "dob_year_l = dob_year_r AND (NOT dob_full_l OR NOT dob_full_r) "
                "AND coalesce(dob_month_l = dob_month_r, TRUE)",
                "agrees as far as known (partial date)",
            ),
            # Only the year known on a side (1 January or a partial date), and the years one
            # apart: an estimated year (age assessed at registration) drifts by one between
            # registrations, so this is no evidence either way. Years further apart fall to
            # "different", evidence against.
            _level(
                f"{_YEAR_ONLY} AND abs(dob_year_l - dob_year_r) = 1",
                "only the year known, years one apart (an estimated year; no evidence either way)",
                m_probability=ESTIMATED_YEAR_MU,
                u_probability=ESTIMATED_YEAR_MU,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(ELSE_LEVEL, "different"),
        ],
    }
    document = {
        "output_column_name": "document_number",
        "comparison_description": "travel document number; never 'close' (family members carry consecutive numbers)",
        "comparison_levels": [
            _null("doc"),
            _level("doc_l = doc_r", "exact"),
            _level("doc_ocr_l = doc_ocr_r", "equal up to OCR confusions (0/O/D/Q, 1/I, 2/Z, 5/S, 6/G, 8/B)"),
            # Two adjacent characters swapped is the commonest keying error, and issuing sequences
            # do not produce it (a family's numbers differ by a few units, a swap of the last two
            # digits by a multiple of nine). Like any other near miss it is no evidence for a match
            # (never "close"), but neither is it the strong evidence against of a relative's number.
            _level(
                "length(doc_ocr_l) = length(doc_ocr_r) AND damerau_levenshtein(doc_ocr_l, doc_ocr_r) = 1 "
                "AND levenshtein(doc_ocr_l, doc_ocr_r) = 2",
                "two adjacent characters swapped (no evidence either way)",
                m_probability=MISTYPED_NUMBER_MU,
                u_probability=MISTYPED_NUMBER_MU,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            # Family members' passports are issued in sequence. Fellegi-Sunter's independence
            # assumption cannot see that relatives also share surname, nationality and (twins)
            # birth date, so this level's weight is fixed as evidence against, not trained.
            # A sequence moves by a few units; numbers ten or more apart in their last two digits
            # (…96 / …86: the tens digit mistyped) are a keying error, weighed below.
            _level(
                "length(doc_ocr_l) = length(doc_ocr_r) AND length(doc_ocr_l) >= 5 "
                "AND left(doc_ocr_l, length(doc_ocr_l) - 2) = left(doc_ocr_r, length(doc_ocr_r) - 2) "
                "AND coalesce(abs(TRY_CAST(right(doc_ocr_l, 2) AS INTEGER) - TRY_CAST(right(doc_ocr_r, 2) AS INTEGER)) "
                f"< {FAMILY_NUMBER_MAX_GAP}, TRUE)",
                "differs only in the last two characters (consecutive numbers: a relative)",
                m_probability=FAMILY_NUMBER_M,
                u_probability=FAMILY_NUMBER_U,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            # A keying error elsewhere in the number (one character changed, two swapped): not
            # evidence for a match (never "close"), and not the strong evidence against that a
            # different number is when passports are rarely renewed. Weight fixed at 0.
            _level(
                "damerau_levenshtein(doc_ocr_l, doc_ocr_r) <= 1",
                "one character mistyped (no evidence either way)",
                m_probability=MISTYPED_NUMBER_MU,
                u_probability=MISTYPED_NUMBER_MU,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(ELSE_LEVEL, "different document (renewed, other passport, or another person)"),
        ],
    }
    nationality = {
        "output_column_name": "nationality",
        "comparison_description": "nationality; a difference is evidence, not a block (dual nationals)",
        "comparison_levels": [
            _null("nationality"),
            _level("nationality_l = nationality_r", "same"),
            _level(ELSE_LEVEL, "different (dual national or another person)"),
        ],
    }
    sex = {
        "output_column_name": "sex",
        "comparison_description": "sex as recorded",
        "comparison_levels": [_null("sex"), _level("sex_l = sex_r", "same"), _level(ELSE_LEVEL, "different")],
    }
    return [surname, given, dob, document, nationality, sex]


# Candidate pairs are the union of these rules; each is an equi-join on features.
BLOCKING_RULES: Final[tuple[str, ...]] = (
    "l.doc_ocr = r.doc_ocr",
    "l.dob = r.dob AND l.surname_ph = r.surname_ph",
    # New passport, a given name written otherwise and a birth date mistyped in its day or its month, or
    # with the two swapped. Not surname, initial and year alone: at national scale a common surname with
    # an initial makes blocks of thousands born in one year, and pairs that grow with their square.
    "l.surname_tk = r.surname_tk AND l.given_initial = r.given_initial AND l.dob_year = r.dob_year AND l.dob_month = r.dob_month",
    "l.surname_tk = r.surname_tk AND l.given_initial = r.given_initial AND l.dob_year = r.dob_year AND l.dob_day = r.dob_day",
    "l.surname_tk = r.surname_tk AND l.given_initial = r.given_initial AND l.dob_year = r.dob_year "
    "AND l.dob_month = r.dob_day AND l.dob_day = r.dob_month",
    # A vague birth date (a year only, or the 1 January placeholder) against any date of that year.
    "l.surname_tk = r.surname_tk AND l.given_initial = r.given_initial AND l.dob_year_vague = r.dob_year",
    "l.surname_tk = r.surname_tk AND l.given_initial = r.given_initial AND l.dob_year = r.dob_year_vague",
    # New passport and a changed, shortened or differently transliterated surname.
    "l.dob = r.dob AND l.given_first_tk = r.given_first_tk",
    # Name order swapped (both orientations: Splink keeps pairs with l.unique_id < r.unique_id).
    "l.dob = r.dob AND l.surname_tk = r.given_tk",
    "l.dob = r.dob AND l.given_tk = r.surname_tk",
    "l.surname_tk = r.given_first_tk AND l.given_first_tk = r.surname_tk AND l.dob_year = r.dob_year",
    # A mistyped document number together with mistyped names.
    "l.dob = r.dob AND l.doc_head = r.doc_head",
    # A mistyped number and a missing or mistyped birth date: one keying error leaves the first
    # or the last four characters intact, and the issuer is the same (it is the same passport).
    # Not the head with the surname: issuers' series prefixes make that a family-sized block (a
    # quarter more pairs on a 100k-traveller population).
    "l.doc_head = r.doc_head AND l.given_first_tk = r.given_first_tk AND l.document_issuer = r.document_issuer",
    "l.doc_tail = r.doc_tail AND l.surname_ph = r.surname_ph AND l.document_issuer = r.document_issuer",
    "l.doc_tail = r.doc_tail AND l.given_first_tk = r.given_first_tk AND l.document_issuer = r.document_issuer",
    # New passport and a typo in the year of birth.
    "l.surname_tk = r.surname_tk AND l.given_first_tk = r.given_first_tk AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day",
)
# Pairs almost surely the same person, counted to estimate the prior; their assumed recall.
PRIOR_RULE: Final = "l.doc = r.doc AND l.dob = r.dob"
PRIOR_RULE_RECALL: Final = 0.8
# EM sessions: each trains the comparisons its blocking rule does not use.
EM_RULES: Final[tuple[str, ...]] = (
    "l.doc_ocr = r.doc_ocr",
    "l.dob = r.dob AND l.surname_tk = r.surname_tk",
)


def base_settings(*, for_training: bool = False) -> dict[str, Any]:
    """Untrained Splink settings: dedupe of one feature table keyed by unique_id (= event_id)."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": comparisons(for_training=for_training),
        "blocking_rules_to_generate_predictions": list(BLOCKING_RULES),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.0001,
        "max_iterations": 25,
    }
