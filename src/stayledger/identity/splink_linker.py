"""Probabilistic identity linkage with Splink 5 on an in-memory DuckDB connection.

The domain model of evidence lives in ``COMPARISONS``: which disagreements are typos and which
are evidence against a match. Two rules matter most for travellers:

- Document numbers are equal, equal up to OCR confusions, or different. Never "close": family
  members carry consecutive numbers, so one digit off is another person, not a typo.
- A different nationality is a level with its own weight, not a block: dual nationals travel on
  either passport.
- Names written in each other's fields (East Asian order, compound surnames split differently)
  are weighed once, under surname, and only when both names cross over: a twin whose record has
  its fields swapped shares only the surname and stays apart.

Term frequencies of names come from the training data and are stored in the model, so the same
pair gets the same score in batch prediction, in ``score_candidates`` and in ``explain_pair``.
"""

from __future__ import annotations

from collections import defaultdict

import json
import math
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, Iterable, Mapping, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from stayledger.errors import StayledgerError
from stayledger.identity.clustering import FAMILY_NUMBER_MAX_GAP, ClusterResult, IdentityKeys, cluster_links, document_format
from stayledger.identity.features import FEATURE_SCHEMA, build_features, discount_documents, shared_documents_of
from stayledger.identity.placeholders import discounted_document_reason

MODEL_FORMAT: Final = "stayledger-linkage-model"
MODEL_FORMAT_VERSION: Final = 1
# Below this many events EM has too few pairs to estimate m reliably; callers fall back to
# deterministic keys (document number + date of birth).
TOO_SMALL_TO_TRAIN: Final = 500
DUCKDB_THREADS: Final = 2
DUCKDB_MEMORY_LIMIT: Final = "2500MB"
TF_COLUMNS: Final = ("surname", "given")
LINK_COLUMNS: Final = ("event_id_l", "event_id_r", "match_probability", "match_weight")



class LinkageError(StayledgerError):
    """Identity linkage could not be done; the message says why."""


class ModelTrainingError(LinkageError):
    """Training was refused or failed (e.g. too few records); fall back to deterministic keys."""


class ModelFormatError(LinkageError):
    """A saved model file is not one this version can read."""


# Fixed m and u of the consecutive-document-number level: a Bayes factor of 2^-13 (weight -13).
# Strong enough that twins (same surname and birth date, similar given names) stay apart; weak
# enough that one person's keying error in the last digits still links when all else agrees.
FAMILY_NUMBER_U: Final = 0.5
FAMILY_NUMBER_M: Final = FAMILY_NUMBER_U * 2.0**-13
# Fixed m and u of "another given name under the same surname": also a Bayes factor of 2^-13.
RELATIVE_U: Final = 0.5
RELATIVE_M: Final = RELATIVE_U * 2.0**-13
# Least share of same-person record pairs assumed to show a different document (renewals,
# second passports) or a different nationality (dual nationals), whatever training suggests.
# Birth dates and sex are mis-keyed or amended too (a wrong field copied, a changed sex marker):
# evidence against, never a block.
DIFFERENT_LEVEL_MIN_M: Final[dict[str, float]] = {
    "document_number": 0.01, "nationality": 0.01, "date_of_birth": 0.005, "sex": 0.005,
}
# Comparisons whose random-sampling u is corrected for the matches among random pairs.
CORRECTED_FOR_MATCHES: Final = frozenset({"document_number"})
# m = u for a number one keying error away (outside the last two characters): weight 0.
MISTYPED_NUMBER_MU: Final = 0.001


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _null(column: str) -> dict[str, Any]:
    return _level(f"{column}_l IS NULL OR {column}_r IS NULL", "missing on one side", is_null_level=True)


_ELSE: Final = "ELSE"
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
            _level(_ELSE, "different"),
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
            _level(_ELSE, "different"),
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
            _level(_ELSE, "different"),
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
            _level(_ELSE, "different document (renewed, other passport, or another person)"),
        ],
    }
    nationality = {
        "output_column_name": "nationality",
        "comparison_description": "nationality; a difference is evidence, not a block (dual nationals)",
        "comparison_levels": [
            _null("nationality"),
            _level("nationality_l = nationality_r", "same"),
            _level(_ELSE, "different (dual national or another person)"),
        ],
    }
    sex = {
        "output_column_name": "sex",
        "comparison_description": "sex as recorded",
        "comparison_levels": [_null("sex"), _level("sex_l = sex_r", "same"), _level(_ELSE, "different")],
    }
    return [surname, given, dob, document, nationality, sex]


# Candidate pairs are the union of these rules; each is an equi-join on features.
BLOCKING_RULES: Final[tuple[str, ...]] = (
    "l.doc_ocr = r.doc_ocr",
    "l.dob = r.dob AND l.surname_ph = r.surname_ph",
    "l.surname_tk = r.surname_tk AND l.given_initial = r.given_initial AND l.dob_year = r.dob_year",
    # New passport and a changed, shortened or differently transliterated surname.
    "l.dob = r.dob AND l.given_first_tk = r.given_first_tk",
    # Name order swapped (both orientations: Splink keeps pairs with l.unique_id < r.unique_id).
    "l.dob = r.dob AND l.surname_tk = r.given_tk",
    "l.dob = r.dob AND l.given_tk = r.surname_tk",
    "l.surname_tk = r.given_first_tk AND l.given_first_tk = r.surname_tk AND l.dob_year = r.dob_year",
    # A mistyped document number together with mistyped names.
    "l.dob = r.dob AND l.doc_head = r.doc_head",
    # A mistyped number and a missing or mistyped birth date: one keying error leaves the first
    # or the last four characters intact. Not the head with the surname: issuers' series prefixes
    # make that a family-sized block (a quarter more pairs on a 100k-traveller population).
    "l.doc_head = r.doc_head AND l.given_first_tk = r.given_first_tk",
    "l.doc_tail = r.doc_tail AND l.surname_ph = r.surname_ph",
    "l.doc_tail = r.doc_tail AND l.given_first_tk = r.given_first_tk",
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


def _stayledger_version() -> str:
    try:
        return version("stayledger")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class _CompiledLevel:
    label: str
    sql: str
    is_null: bool
    match_weight: float
    tf_column: str | None
    tf_weight: float
    tf_min_u: float
    log2_u_exact: float


@dataclass(eq=False)
class LinkageModel:
    """A trained linkage model: Splink settings with parameters, name frequencies and metadata."""

    settings: dict[str, Any]
    term_frequencies: dict[str, dict[str, float]]
    rare_value_frequency: dict[str, float]
    metadata: dict[str, Any]
    _compiled: list[tuple[str, list[_CompiledLevel]]] | None = field(default=None, init=False, repr=False)
    _scorer: "_PairScorer | None" = field(default=None, init=False, repr=False)

    @property
    def shared_documents(self) -> frozenset[str]:
        """Document numbers (OCR-canonical) that training found given with several unrelated
        identities: they weigh nothing (see ``placeholders``)."""
        return frozenset(self.metadata.get("shared_document_numbers") or ())

    @property
    def prior(self) -> float:
        """Probability that two random events are the same person (Splink's lambda)."""
        return float(self.settings["probability_two_random_records_match"])

    def to_json(self) -> str:
        """The model as a versioned JSON document (stable key order)."""
        document = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "metadata": self.metadata,
            "splink_settings": self.settings,
            "term_frequencies": self.term_frequencies,
            "rare_value_frequency": self.rare_value_frequency,
        }
        return json.dumps(document, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "LinkageModel":
        """Read a model written by ``to_json``; raises ``ModelFormatError`` on anything else."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFormatError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            raise ModelFormatError(f"not a {MODEL_FORMAT} document")
        if document.get("format_version") != MODEL_FORMAT_VERSION:
            raise ModelFormatError(
                f"model format version {document.get('format_version')!r}; this version reads {MODEL_FORMAT_VERSION}"
            )
        for key in ("splink_settings", "term_frequencies", "rare_value_frequency", "metadata"):
            if key not in document:
                raise ModelFormatError(f"missing key {key!r}")
        return cls(
            settings=document["splink_settings"],
            term_frequencies=document["term_frequencies"],
            rare_value_frequency=document["rare_value_frequency"],
            metadata=document["metadata"],
        )

    def compiled(self) -> list[tuple[str, list[_CompiledLevel]]]:
        """Per comparison, its levels with Splink's own match weights and TF parameters."""
        if self._compiled is None:
            self._compiled = _compile_levels(self.settings)
        return self._compiled


def _compile_levels(settings: dict[str, Any]) -> list[tuple[str, list[_CompiledLevel]]]:
    """Read the weights through Splink's objects so our scoring uses exactly Splink's numbers."""
    from splink.internals.settings_creator import SettingsCreator

    splink_settings = SettingsCreator.from_path_or_dict(settings).get_settings("duckdb")
    compiled = []
    for comparison in splink_settings.comparisons:
        levels = comparison.comparison_levels
        out = []
        for level in levels:
            tf_column = level._tf_adjustment_input_column_name if level._has_tf_adjustments else None
            log2_u = 0.0
            if tf_column is not None and not level.is_null_level:
                log2_u = math.log2(level._u_probability_corresponding_to_exact_match(levels))
            out.append(
                _CompiledLevel(
                    label=level.label_for_charts,
                    sql=level.sql_condition,
                    is_null=level.is_null_level,
                    match_weight=0.0 if level.is_null_level else float(level._match_weight),
                    tf_column=tf_column,
                    tf_weight=float(level._tf_adjustment_weight),
                    tf_min_u=float(level._tf_minimum_u_value),
                    log2_u_exact=log2_u,
                )
            )
        compiled.append((comparison.output_column_name, out))
    return compiled


# --------------------------------------------------------------------------------------------
# DuckDB and term frequencies


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {DUCKDB_THREADS}")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")
    return con


# The frequency of a name is that of all its spellings (MUHAMMAD / MOHAMMED / MOHAMED): counting one
# spelling understates how common the name is and so overstates what agreeing on it proves. Spellings
# are one name when they share a transliteration key and are alike (Jaro-Winkler, chained: MUHAMMAD ~
# MOHAMMED ~ MOHAMED). The key alone is too coarse: it collapses vowels, so distinct names share it
# (HASSAN / HUSSEIN, LI / LEE / LIU); short keys are left out altogether. Spellings of one name keep
# their first and last letters; a changed final vowel is another name (MARIA / MARIO, JULIA / JULIO).
TF_KEY_COLUMNS: Final = {"surname": "surname_tk", "given": "given_tk"}
MIN_KEY_LENGTH_FOR_TF: Final = 4
SPELLING_SIMILARITY_FOR_TF: Final = 0.8


def _spelling_groups(names: dict[str, int], keys: dict[str, str]) -> dict[str, int]:
    """Per name, the count of all spellings of it (see ``TF_KEY_COLUMNS``)."""
    rows = [(n, k) for n, k in keys.items() if k and len(k) >= MIN_KEY_LENGTH_FOR_TF and n in names]
    if not rows:
        return dict(names)
    con = _connect()
    try:
        con.register("spellings", pa.table({"name": [n for n, _ in rows], "key": [k for _, k in rows]}))
        edges = con.execute(
            "SELECT a.name, b.name FROM spellings a JOIN spellings b ON a.key = b.key AND a.name < b.name "
            "AND left(a.name, 1) = left(b.name, 1) AND right(a.name, 1) = right(b.name, 1) "
            f"WHERE jaro_winkler_similarity(a.name, b.name) >= {SPELLING_SIMILARITY_FOR_TF}"
        ).fetchall()
    finally:
        con.close()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    totals: dict[str, int] = {}
    for name, n in names.items():
        root = find(name)
        totals[root] = totals.get(root, 0) + n
    return {name: totals[find(name)] for name in names}


def _frequencies(features: pa.Table, column: str) -> tuple[dict[str, float], float]:
    """Relative frequency of each name seen at least twice (counting all its spellings, see
    ``TF_KEY_COLUMNS``), and the frequency of a name seen once."""
    key_column = TF_KEY_COLUMNS.get(column)
    present = pc.is_valid(features.column(column))
    values = features.column(column).filter(present)
    total = len(values)
    if total == 0:
        return {}, 1.0
    counts = pc.value_counts(values)
    by_name = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
    if key_column is not None and key_column in features.column_names:
        pairs = features.select([column, key_column]).filter(present)
        distinct = pc.unique(pc.binary_join_element_wise(pairs.column(0), pc.fill_null(pairs.column(1), ""), "\x1f"))
        keys = dict(v.split("\x1f", 1) for v in distinct.to_pylist())
        by_name = _spelling_groups(by_name, keys)
    lookup = {name: n / total for name, n in by_name.items() if n >= 2}
    return dict(sorted(lookup.items())), 1.0 / total


def refresh_term_frequencies(model: LinkageModel, features: pa.Table) -> LinkageModel:
    """The same trained model with name frequencies counted afresh on ``features`` (e.g. after an erasure).

    The frequency tables hold names; after erased persons are gone from the ledger, they must go from the
    model too. The trained m and u probabilities are aggregate statistics and stay.
    """
    tf_lookups: dict[str, dict[str, float]] = {}
    rare: dict[str, float] = {}
    for column in TF_COLUMNS:
        tf_lookups[column], rare[column] = _frequencies(features, column)
    metadata = {**model.metadata, "term_frequencies_from": features.num_rows,
                "shared_document_numbers": sorted(shared_documents_of(features))}
    return LinkageModel(settings=model.settings, term_frequencies=tf_lookups, rare_value_frequency=rare, metadata=metadata)


def _with_term_frequencies(features: pa.Table, model: LinkageModel) -> pa.Table:
    """Add ``tf_surname`` and ``tf_given`` from the model's lookups (unseen values count as rare),
    with the model's shared document numbers discounted."""
    features = discount_documents(features, model.shared_documents)
    for column in TF_COLUMNS:
        lookup = model.term_frequencies.get(column, {})
        rare = model.rare_value_frequency.get(column, 0.0)
        encoded = pc.dictionary_encode(features.column(column)).combine_chunks()
        values = pa.array([lookup.get(v, rare) for v in encoded.dictionary.to_pylist()], type=pa.float64())
        tf = values.take(encoded.indices) if len(values) else pa.nulls(features.num_rows, pa.float64())
        features = features.append_column(f"tf_{column}", tf)
    return features


def _linker(features: pa.Table, settings: dict[str, Any], con: duckdb.DuckDBPyConnection) -> Any:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(con)
    frame = db_api.register(features, table_name="stayledger_linkage_features")
    return Linker(frame, settings, log_level=None)


# --------------------------------------------------------------------------------------------
# Training and prediction


def train_model(
    features: pa.Table,
    *,
    seed: int = 42,
    max_pairs: int = 2_000_000,
    trained_at: datetime | date | str | None = None,
) -> LinkageModel:
    """Train the linkage model on a feature table (``build_features``) without labels.

    u probabilities from ``max_pairs`` random pairs (seeded); m probabilities by EM on blocked
    pairs (bounded by ``max_pairs``); the prior from pairs sharing document and birth date.
    ``trained_at`` is recorded in the metadata (the core never reads a clock).
    Raises ``ModelTrainingError`` below ``TOO_SMALL_TO_TRAIN`` records or if Splink fails.
    """
    if features.num_rows < TOO_SMALL_TO_TRAIN:
        raise ModelTrainingError(
            f"{features.num_rows} records is too few to train (need at least {TOO_SMALL_TO_TRAIN}); "
            "use deterministic keys (document number and date of birth) instead"
        )
    shared = shared_documents_of(features)
    features = discount_documents(features, shared)
    tf_lookups: dict[str, dict[str, float]] = {}
    rare: dict[str, float] = {}
    for column in TF_COLUMNS:
        tf_lookups[column], rare[column] = _frequencies(features, column)
    model = LinkageModel(settings=base_settings(), term_frequencies=tf_lookups, rare_value_frequency=rare, metadata={})
    with_tf = _with_term_frequencies(features, model)
    con = _connect()
    try:
        linker = _linker(with_tf, base_settings(for_training=True), con)
        training = linker.training
        training.estimate_probability_two_random_records_match([PRIOR_RULE], recall=PRIOR_RULE_RECALL)
        training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        for rule in EM_RULES:
            training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=max_pairs)
        settings = linker.misc.save_model_to_json()
    except StayledgerError:
        raise
    except Exception as exc:  # Splink and DuckDB errors must not leak to users
        raise ModelTrainingError(f"training failed: {type(exc).__name__}: {exc}") from exc
    finally:
        con.close()
    settings.pop("linker_uid", None)
    _use_prediction_conditions(settings)
    _remove_matches_from_u(settings, floor=1.0 / max_pairs)
    _apply_m_floors(settings)
    untrained = _neutralise_unobserved_levels(settings, u_floor=1.0 / max_pairs)
    metadata = {
        "trained_at": trained_at.isoformat() if isinstance(trained_at, (date, datetime)) else trained_at,
        "record_count": features.num_rows,
        "seed": seed,
        "max_pairs": max_pairs,
        "stayledger_version": _stayledger_version(),
        "splink_version": _splink_version(),
        "levels_without_evidence": untrained,
        "shared_document_numbers": sorted(shared),
    }
    return LinkageModel(settings=settings, term_frequencies=tf_lookups, rare_value_frequency=rare, metadata=metadata)


def _use_prediction_conditions(settings: dict[str, Any]) -> None:
    """Put the prediction conditions of ``comparisons()`` on the trained levels.

    Splink's EM does not train a comparison that reads a column of the session's blocking rule.
    The relative level of the given-name comparison reads the document (relatives never share
    one), which would keep the given names out of the document-blocked session, their only one.
    So training sees that fixed-weight level without the document condition; the trained m and
    u of the other levels are unaffected by how a fixed level is bounded, up to the pairs on one
    document that move from it to the trained levels below at prediction.
    """
    for trained, predicting in zip(settings["comparisons"], comparisons(), strict=True):
        for level, condition in zip(trained["comparison_levels"], predicting["comparison_levels"], strict=True):
            if level["label_for_charts"] != condition["label_for_charts"]:
                raise ModelTrainingError(f"trained level {level['label_for_charts']!r} does not match the model's levels")
            level["sql_condition"] = condition["sql_condition"]


def _remove_matches_from_u(settings: dict[str, Any], *, floor: float) -> None:
    """Take the same-person pairs out of the u probabilities estimated from random pairs.

    Random sampling counts every pair, matches included; Splink assumes matches are too rare
    among random pairs to matter. Travel events are not: each traveller has several, so a share
    ``lambda`` of random pairs are one person, and for the document number (two people never
    share one) nearly all random pairs that agree are those matches. Left in, they cap the
    document's weight at about minus the prior's, whatever the data. Each level's u over the
    non-matches is ``(u - lambda * m) / (1 - lambda)`` (the corrected u still sum to one);
    ``floor`` (one in the number of pairs sampled, the finest u sampling can resolve) keeps a
    level that only matches reach from becoming a certainty.

    Only the document comparison is corrected. Names and birth dates are shared by strangers, so
    matches are a small part of their agreeing random pairs; and the model already overstates
    their joint evidence (a namesake born the same day agrees on both, which Fellegi-Sunter
    counts as independent), so sharpening them would merge lookalikes.
    """
    prior = float(settings["probability_two_random_records_match"])
    for comparison in settings["comparisons"]:
        if comparison.get("output_column_name") not in CORRECTED_FOR_MATCHES:
            continue
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("is_null_level") or level.get("fix_u_probability") or not all(isinstance(v, (int, float)) for v in (m, u)):
                continue
            level["u_probability"] = max((u - prior * m) / (1.0 - prior), floor)


def _apply_m_floors(settings: dict[str, Any]) -> None:
    """Keep m of each "different" level in ``DIFFERENT_LEVEL_MIN_M`` at least that floor.

    Travellers renew passports, carry second ones and hold two nationalities; a training set with
    few of those would otherwise teach the model that a different number or nationality rules a
    match out (EM drives an unobserved level's m towards zero: a hard block in disguise).
    The other trained m of the comparison are scaled down so the m still sum to one.
    """
    for comparison in settings["comparisons"]:
        floor = DIFFERENT_LEVEL_MIN_M.get(comparison.get("output_column_name", ""))
        if floor is None:
            continue
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        else_level = next(lv for lv in levels if lv["sql_condition"].strip().upper() == _ELSE)
        m = else_level.get("m_probability")
        m = m if isinstance(m, (int, float)) else 0.0
        if m >= floor:
            continue
        trained = [lv for lv in levels if lv is not else_level and not lv.get("fix_m_probability") and isinstance(lv.get("m_probability"), (int, float))]
        rest = sum(lv["m_probability"] for lv in trained)
        if rest > 0:
            scale = (rest - (floor - m)) / rest
            for lv in trained:
                lv["m_probability"] *= scale
        else_level["m_probability"] = floor


def _neutralise_unobserved_levels(settings: dict[str, Any], *, u_floor: float) -> list[str]:
    """Fill in the probabilities training could not estimate; return the levels that carry no weight.

    A level no training pair reached has no m (or no u) probability, and Splink would fill in
    arbitrary defaults (or 1e-6: a hard block in disguise).
    - No m (no match showed it): data of another origin can show what the training data did not
      (initials, names in another order), so the level carries no evidence either way (m = u) and
      the other comparisons decide. These are listed in the model's metadata.
    - An m but no u (matches showed it, no random pair did): u is below one in the number of random
      pairs sampled, and that bound (``u_floor``) gives the weakest weight the data allow.
    """
    untrained = []
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            m_known, u_known = (isinstance(v, (int, float)) and v > 0 for v in (m, u))
            if m_known and not u_known:
                level["u_probability"] = u_floor
            elif not m_known:
                level["m_probability"] = level["u_probability"] = u if u_known else u_floor
                untrained.append(f"{comparison.get('output_column_name')}: {level.get('label_for_charts')}")
    return untrained


def _splink_version() -> str:
    try:
        return version("splink")
    except PackageNotFoundError:
        return "unknown"


def predict_links(features: pa.Table, model: LinkageModel, *, threshold: float = 0.01) -> pa.Table:
    """Score the blocked candidate pairs of a feature table; keep those at or above ``threshold``.

    Returns ``event_id_l, event_id_r, match_probability, match_weight`` (event_id_l < event_id_r),
    sorted by the two ids so that equal inputs give equal tables.
    """
    empty = pa.table({c: pa.array([], t) for c, t in zip(LINK_COLUMNS, (pa.string(), pa.string(), pa.float64(), pa.float64()))})
    if features.num_rows < 2:
        return empty
    con = _connect()
    try:
        settings = dict(model.settings, retain_matching_columns=False, retain_intermediate_calculation_columns=False)
        linker = _linker(_with_term_frequencies(features, model), settings, con)
        predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
        table = con.sql(
            "SELECT unique_id_l AS event_id_l, unique_id_r AS event_id_r, "
            "CAST(match_probability AS DOUBLE) AS match_probability, CAST(match_weight AS DOUBLE) AS match_weight "
            f"FROM {predictions.physical_name} ORDER BY event_id_l, event_id_r"
        ).to_arrow_table()
    except Exception as exc:
        raise LinkageError(f"prediction failed: {type(exc).__name__}: {exc}") from exc
    finally:
        con.close()
    return table.cast(empty.schema)


def blocking_rule_counts(features: pa.Table, model: LinkageModel | None = None) -> list[dict[str, Any]]:
    """Exact number of comparisons each prediction blocking rule adds (marginal and cumulative).

    Measured with Splink's blocking analysis before predicting, to catch a pairs explosion.
    """
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    rules = model.settings["blocking_rules_to_generate_predictions"] if model else list(BLOCKING_RULES)
    rules = [r["blocking_rule"] if isinstance(r, dict) else r for r in rules]
    con = _connect()
    try:
        frame = DuckDBAPI(con).register(features.select(list(_PAIR_COLUMNS)), table_name="stayledger_blocking_features")
        records = count_comparisons_from_blocking_rules(
            frame, blocking_rules=rules, link_type="dedupe_only", unique_id_column_name="unique_id", record_sample_proportion=1.0
        )
        return [
            {"rule": r["blocking_rule"], "marginal": r["marginal_comparison_count"], "cumulative": r["cumulative_comparison_count"]}
            for r in records
        ]
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# Linking a batch


@dataclass(frozen=True, slots=True)
class LinkageResult:
    """Identities of a batch of events, with the pairs a reviewer should look at."""

    cluster_of: dict[str, str]
    joining_probability: dict[str, float | None]
    # Grey-zone pairs for the review queue: event_id_l, event_id_r, match_probability,
    # cluster_l, cluster_r, same_cluster (see ``link_events``).
    grey_pairs: pa.Table
    links: pa.Table
    refused: list[tuple[str, str, float, str]]
    # Links kept although the two sides' documents of one issuer alternate once (thin evidence of two
    # people): for review, in the schema of ``grey_pairs``.
    questioned_pairs: pa.Table | None = None


def identity_keys_of(features: pa.Table) -> dict[str, IdentityKeys]:
    """Document (OCR-canonical), birth date and normalised surname per event, for the clustering chaining guard."""
    ids = features.column("unique_id").to_pylist()
    docs = features.column("doc_ocr").to_pylist()
    dobs = features.column("dob").to_pylist()
    surnames = features.column("surname").to_pylist()
    issuers = pc.coalesce(features.column("document_issuer"), features.column("nationality")).to_pylist()
    dates = pc.cast(features.column("occurred_on"), pa.string()).to_pylist()
    formats = [document_format(d) for d in features.column("doc").to_pylist()]
    return {e: IdentityKeys(d, b, n, i, o, f) for e, d, b, n, i, o, f in zip(ids, docs, dobs, surnames, issuers, dates, formats)}


def link_events(
    events: pa.Table,
    model: LinkageModel,
    *,
    match_threshold: float = 0.9,
    grey_zone: tuple[float, float] = (0.5, 0.9),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
) -> LinkageResult:
    """Resolve the identities of a batch of events: features, prediction, constrained clustering.

    ``grey_pairs`` holds every scored pair with ``grey_zone[0] <= p < grey_zone[1]`` whose two
    events are not already one identity through *confident* evidence alone, i.e. through
    links with p >= max(match_threshold, grey_zone[1]) and must-links. ``same_cluster`` tells
    whether the final clustering nevertheless joined them (possible when ``match_threshold`` is
    below the top of the grey zone: a reviewer may want to split) or left them apart (a reviewer
    may want to merge). Cannot-link pairs are never grey pairs; pairs are sorted strongest first.
    """
    low, high = grey_zone
    if not 0.0 <= low <= high <= 1.0:
        raise LinkageError(f"grey_zone must satisfy 0 <= low <= high <= 1, got {grey_zone}")
    must = [tuple(p) for p in must_link]
    cannot = [tuple(p) for p in cannot_link]
    features = build_features(events)
    # Numbers this batch gives with several unrelated identities weigh nothing, like the model's.
    features = discount_documents(features, shared_documents_of(features) | model.shared_documents)
    links = predict_links(features, model, threshold=min(low, match_threshold))
    event_ids = features.column("unique_id").to_pylist()
    keys = identity_keys_of(features)
    clusters = cluster_links(event_ids, links, match_threshold=match_threshold, must_link=must, cannot_link=cannot, identity_keys=keys)
    confident = clusters if high <= match_threshold else cluster_links(
        event_ids, links, match_threshold=high, must_link=must, cannot_link=cannot, identity_keys=keys
    )
    grey_pairs = _grey_pairs(links, low, high, clusters, confident, cannot)
    return LinkageResult(
        cluster_of=clusters.cluster_of,
        joining_probability=clusters.joining_probability,
        grey_pairs=grey_pairs,
        links=links,
        refused=clusters.refused,
        questioned_pairs=_questioned_pairs(grey_pairs, clusters),
    )


def _questioned_pairs(grey_pairs: pa.Table, clusters: ClusterResult) -> pa.Table:
    """The links kept on thin document-history evidence against them (a reviewer confirms or splits),
    in the schema of ``grey_pairs`` and not already among them."""
    seen = set(zip(grey_pairs.column("event_id_l").to_pylist(), grey_pairs.column("event_id_r").to_pylist()))
    rows = [(a, b, p) for a, b, p, _ in clusters.questioned if (a, b) not in seen]
    return pa.table(
        {"event_id_l": [a for a, _, _ in rows], "event_id_r": [b for _, b, _ in rows], "match_probability": [p for _, _, p in rows],
         "cluster_l": [clusters.cluster_of[a] for a, _, _ in rows], "cluster_r": [clusters.cluster_of[b] for _, b, _ in rows],
         "same_cluster": [clusters.cluster_of[a] == clusters.cluster_of[b] for a, b, _ in rows]},
        schema=grey_pairs.schema,
    )


def _grey_pairs(
    links: pa.Table, low: float, high: float, clusters: ClusterResult, confident: ClusterResult, cannot: list[tuple[Any, ...]]
) -> pa.Table:
    probs = links.column("match_probability")
    in_zone = links.filter(pc.and_(pc.greater_equal(probs, low), pc.less(probs, high)))
    in_zone = in_zone.sort_by([("match_probability", "descending"), ("event_id_l", "ascending"), ("event_id_r", "ascending")])
    forbidden = {frozenset(p) for p in cannot}
    rows: dict[str, list[Any]] = {k: [] for k in ("event_id_l", "event_id_r", "match_probability", "cluster_l", "cluster_r", "same_cluster")}
    for a, b, p in zip(*(in_zone.column(c).to_pylist() for c in ("event_id_l", "event_id_r", "match_probability"))):
        if confident.cluster_of[a] == confident.cluster_of[b] or frozenset((a, b)) in forbidden:
            continue
        ca, cb = clusters.cluster_of[a], clusters.cluster_of[b]
        for key, value in zip(rows, (a, b, p, ca, cb, ca == cb)):
            rows[key].append(value)
    schema = pa.schema(
        [("event_id_l", pa.string()), ("event_id_r", pa.string()), ("match_probability", pa.float64()),
         ("cluster_l", pa.string()), ("cluster_r", pa.string()), ("same_cluster", pa.bool_())]
    )
    return pa.table(rows, schema=schema)


# --------------------------------------------------------------------------------------------
# Scoring pairs ourselves: near real time and explanations


_PAIR_COLUMNS: Final = tuple(f.name for f in FEATURE_SCHEMA if f.name not in ("kind", "occurred_on"))


class _PairScorer:
    """Evaluates the model's level conditions in DuckDB on a small cross join of features."""

    def __init__(self, model: LinkageModel) -> None:
        self._levels = model.compiled()
        self._con = _connect()
        self._lock = threading.Lock()
        select = [f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in _PAIR_COLUMNS]
        select += [f"l.tf_{c} AS tf_{c}_l, r.tf_{c} AS tf_{c}_r" for c in TF_COLUMNS]
        gammas = []
        for i, (_, levels) in enumerate(self._levels):
            whens = " ".join(f"WHEN {lv.sql} THEN {j}" for j, lv in enumerate(levels) if lv.sql.strip().upper() != _ELSE)
            gammas.append(f"CASE {whens} ELSE {len(levels) - 1} END AS g{i}")
        tf = ", ".join(f"tf_{c}_l, tf_{c}_r" for c in TF_COLUMNS)
        self._sql = (
            f"WITH pairs AS (SELECT {', '.join(select)} FROM new_features l CROSS JOIN candidate_features r) "
            f"SELECT unique_id_r, {', '.join(gammas)}, {tf} FROM pairs"
        )

    def score(self, new_features: pa.Table, candidate_features: pa.Table) -> list[tuple[str, list[int], dict[str, float | None]]]:
        with self._lock:
            self._con.register("new_features", new_features)
            self._con.register("candidate_features", candidate_features)
            try:
                rows = self._con.execute(self._sql).fetchall()
            finally:
                self._con.unregister("new_features")
                self._con.unregister("candidate_features")
        n = len(self._levels)
        out = []
        for row in rows:
            tf_values = row[1 + n :]
            tf: dict[str, float | None] = {}
            for k, c in enumerate(TF_COLUMNS):
                tf[f"{c}_l"], tf[f"{c}_r"] = tf_values[2 * k], tf_values[2 * k + 1]
            out.append((row[0], list(row[1 : 1 + n]), tf))
        return out


def _scorer(model: LinkageModel) -> _PairScorer:
    if model._scorer is None:
        model._scorer = _PairScorer(model)
    return model._scorer


def _level_weight(level: _CompiledLevel, tf: Mapping[str, float | None]) -> tuple[float, float]:
    """Splink's match weight of a level and its term-frequency adjustment for this pair."""
    if level.is_null or level.tf_column is None or level.tf_weight == 0 or level.sql.strip().upper() == _ELSE:
        return level.match_weight, 0.0
    left, right = tf.get(f"{level.tf_column}_l"), tf.get(f"{level.tf_column}_r")
    present = [v for v in (left, right) if v is not None]
    if not present:
        return level.match_weight, 0.0
    u = max(max(present), level.tf_min_u)
    return level.match_weight, level.tf_weight * (level.log2_u_exact - math.log2(u))


def _probability(weight: float) -> float:
    if weight >= 0:
        return 1.0 / (1.0 + 2.0 ** (-weight))
    return 2.0**weight / (1.0 + 2.0**weight)


def _prior_weight(model: LinkageModel) -> float:
    p = model.prior
    return math.log2(p / (1 - p))


def _as_features(table: pa.Table) -> pa.Table:
    return table if "unique_id" in table.column_names and "surname_tk" in table.column_names else build_features(table)


def score_candidates(new_event: pa.Table, candidates: pa.Table, model: LinkageModel) -> list[tuple[str, float]]:
    """Match probability of one new event against each candidate, strongest first.

    Both tables may be events (``EVENT_SCHEMA``) or already built features. Uses the model's
    parameters exactly as Splink's predict does (same conditions, weights and name frequencies).
    """
    if new_event.num_rows != 1:
        raise LinkageError(f"score_candidates takes exactly one new event, got {new_event.num_rows}")
    if candidates.num_rows == 0:
        return []
    new_f = _with_term_frequencies(_as_features(new_event).select(list(_PAIR_COLUMNS)), model)
    cand_f = _with_term_frequencies(_as_features(candidates).select(list(_PAIR_COLUMNS)), model)
    prior = _prior_weight(model)
    levels = model.compiled()
    scored = []
    for event_id, gammas, tf in _scorer(model).score(new_f, cand_f):
        weight = prior
        for (_, comparison_levels), g in zip(levels, gammas):
            base, adjustment = _level_weight(comparison_levels[g], tf)
            weight += base + adjustment
        scored.append((event_id, _probability(weight)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored


def _rule_columns(rule: str) -> list[tuple[str, str]]:
    """(left column, right column) of each ``l.X = r.Y`` term of a conjunctive equi-join rule."""
    pairs = []
    for term in rule.split(" AND "):
        left, right = (side.strip() for side in term.split("="))
        if not (left.startswith("l.") and right.startswith("r.")):
            raise LinkageError(f"blocking rule term {term!r} is not of the form l.column = r.column")
        pairs.append((left[2:], right[2:]))
    return pairs


def _key_sql(columns: list[str]) -> str:
    """A 64-bit hash of the columns, NULL when any is NULL (SQL equality never matches NULL)."""
    any_null = " OR ".join(f"{c} IS NULL" for c in columns)
    return f"CASE WHEN {any_null} THEN NULL ELSE hash({', '.join(columns)}) END"


class CandidateIndex:
    """Resolved events' features with one hashed key per blocking rule, for near-real-time lookup.

    Finds the candidates ``score_candidates`` should score for a new event: exactly the events
    that batch prediction's blocking rules would pair with it (hash collisions only add
    candidates, which scoring then rejects).
    """

    def __init__(self, features: pa.Table, model: LinkageModel) -> None:
        rules = [r["blocking_rule"] if isinstance(r, dict) else r for r in model.settings["blocking_rules_to_generate_predictions"]]
        self._rules = [_rule_columns(rule) for rule in rules]
        self._features = discount_documents(features.select(list(_PAIR_COLUMNS)), model.shared_documents).combine_chunks()
        self._lock = threading.Lock()
        self._con = _connect()
        keys = ", ".join(f"{_key_sql([r for _, r in rule])} AS k{i}" for i, rule in enumerate(self._rules))
        self._con.register("resolved", self._features)
        self._keys = self._con.sql(f"SELECT {keys} FROM resolved").to_arrow_table().combine_chunks()
        self._con.unregister("resolved")
        probe_keys = ", ".join(f"{_key_sql([l for l, _ in rule])} AS k{i}" for i, rule in enumerate(self._rules))
        self._probe_sql = f"SELECT {probe_keys} FROM probe"
        self._resolved_sql = f"SELECT {keys} FROM probe"

    def _keys_of(self, sql: str, features: pa.Table) -> tuple[Any, ...]:
        with self._lock:
            self._con.register("probe", features.select(list(_PAIR_COLUMNS)))
            try:
                rows = self._con.execute(sql).fetchall()
            finally:
                self._con.unregister("probe")
        return tuple(rows[0]) if rows else ()

    def probe_keys(self, new_features: pa.Table) -> tuple[Any, ...]:
        """The (one-row) new event's blocking keys, one per rule, on the side of a new event."""
        return self._keys_of(self._probe_sql, new_features)

    def resolved_keys(self, features: pa.Table) -> tuple[Any, ...]:
        """A (one-row) event's blocking keys on the side of the resolved events, so that a later new
        event finds it by its ``probe_keys`` (see ``RecentEvents``)."""
        return self._keys_of(self._resolved_sql, features)

    def candidates_for(self, new_features: pa.Table, keys: tuple[Any, ...] | None = None) -> pa.Table:
        """Resolved events sharing a blocking key with the (one-row) new event's features."""
        mask = None
        for i, key in enumerate(keys if keys is not None else self.probe_keys(new_features)):
            if key is None:
                continue
            hit = pc.equal(self._keys.column(i), pa.scalar(key, self._keys.schema.field(i).type))
            mask = hit if mask is None else pc.or_kleene(mask, hit)
        if mask is None:
            return self._features.slice(0, 0)
        return self._features.filter(mask)


class RecentEvents:
    """Events linked since a ``CandidateIndex`` was built, looked up by the same blocking keys.

    A stream of new events must not make each lookup slower than the last: scoring every recent
    event against each new one grows with the stream, a key lookup does not."""

    def __init__(self, index: CandidateIndex) -> None:
        self._index = index
        self._by_key: dict[tuple[int, Any], list[tuple[str, pa.Table]]] = defaultdict(list)

    def add(self, features: pa.Table) -> None:
        event_id = features.column("unique_id")[0].as_py()
        for i, key in enumerate(self._index.resolved_keys(features)):
            if key is not None:
                self._by_key[(i, key)].append((event_id, features))

    def candidates_for(self, probe_keys: tuple[Any, ...]) -> list[pa.Table]:
        found: dict[str, pa.Table] = {}
        for i, key in enumerate(probe_keys):
            if key is not None:
                for event_id, features in self._by_key.get((i, key), ()):
                    found.setdefault(event_id, features)
        return list(found.values())


@dataclass(frozen=True, slots=True)
class ComparisonExplanation:
    """One comparison's contribution to a pair's score."""

    name: str
    level: str
    match_weight: float  # log2 Bayes factor of the level, including the name-frequency adjustment
    tf_adjustment: float  # part of match_weight due to how common the exact name is
    value_a: str | None
    value_b: str | None


@dataclass(frozen=True, slots=True)
class PairExplanation:
    """Why two records are (not) the same person: prior, each comparison, final probability."""

    prior_probability: float
    prior_weight: float
    comparisons: tuple[ComparisonExplanation, ...]
    final_weight: float
    final_probability: float


_SHOWN_VALUE: Final = {
    "surname": "surname",
    "given_names": "given",
    "date_of_birth": "dob",
    "document_number": "doc",
    "nationality": "nationality",
    "sex": "sex",
}


def _records_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    from stayledger.storage.arrow_events import EVENT_SCHEMA

    columns: dict[str, list[Any]] = {}
    for i, record in enumerate(records):
        for name in EVENT_SCHEMA.names:
            value = record.get(name)
            if name == "event_id" and not value:
                value = f"record_{i + 1}"
            if isinstance(value, (date, datetime)):
                value = value.isoformat()
            columns.setdefault(name, []).append(None if value is None else str(value))
    identity = ("event_id", "surname", "given_names", "date_of_birth", "sex", "nationality", "document_number", "document_issuer")
    return pa.table({name: pa.array(columns[name], pa.string()) for name in identity})


def explain_pair(record_a: Mapping[str, Any], record_b: Mapping[str, Any], model: LinkageModel) -> PairExplanation:
    """Explain the score of two event records (canonical field names) under the model."""
    features = _with_term_frequencies(build_features(_records_table([record_a, record_b])).select(list(_PAIR_COLUMNS)), model)
    left, right = features.slice(0, 1), features.slice(1, 1)
    (_, gammas, tf), = _scorer(model).score(left, right)
    prior_weight = _prior_weight(model)
    total = prior_weight
    parts = []
    values_a, values_b = left.to_pylist()[0], right.to_pylist()[0]
    numbers = [r.get("document_number") for r in (record_a, record_b)]
    discounted = [(n, discounted_document_reason(n, model.shared_documents)) for n in numbers if n]
    for (name, levels), g in zip(model.compiled(), gammas):
        level = levels[g]
        base, adjustment = _level_weight(level, tf)
        total += base + adjustment
        shown = _SHOWN_VALUE.get(name, name)
        label, value_a, value_b = level.label, values_a.get(shown), values_b.get(shown)
        if name == "document_number" and any(reason for _, reason in discounted):
            # Say that a number was there and why it weighed nothing, not just "missing".
            label = "; ".join(dict.fromkeys(f"discounted, {reason}: {n}" for n, reason in discounted if reason))
            value_a, value_b = (str(n) if n else None for n in numbers)
        parts.append(ComparisonExplanation(name, label, base + adjustment, adjustment, value_a, value_b))
    return PairExplanation(model.prior, prior_weight, tuple(parts), total, _probability(total))


def render_waterfall_text(explanation: PairExplanation) -> str:
    """A text waterfall: the prior, each comparison's weight and the running total, the result."""
    lines = [f"{'step':<16} {'level':<58} {'weight':>8} {'total':>8}"]
    running = explanation.prior_weight
    lines.append(f"{'prior':<16} {f'two random events match: {explanation.prior_probability:.3g}':<58} {explanation.prior_weight:>+8.2f} {running:>+8.2f}")
    for part in explanation.comparisons:
        running += part.match_weight
        level = part.level if not part.tf_adjustment else f"{part.level} (name frequency {part.tf_adjustment:+.2f})"
        values = f"{part.value_a or '∅'} / {part.value_b or '∅'}"
        lines.append(f"{part.name:<16} {level[:58]:<58} {part.match_weight:>+8.2f} {running:>+8.2f}")
        lines.append(f"{'':<16}   {values[:56]}")
    lines.append(f"{'result':<16} {f'match probability {explanation.final_probability:.6f}':<58} {'':>8} {explanation.final_weight:>+8.2f}")
    return "\n".join(lines)


def waterfall_chart_spec(explanation: PairExplanation) -> dict[str, Any]:
    """A Vega-Lite bar chart of the waterfall (each step from the running total before it)."""
    rows = []
    running = 0.0
    steps = [("prior", explanation.prior_weight, "prior")] + [(c.name, c.match_weight, c.level) for c in explanation.comparisons]
    for order, (name, weight, label) in enumerate(steps):
        rows.append({"order": order, "step": name, "level": label, "weight": weight, "start": running, "end": running + weight})
        running += weight
    rows.append({"order": len(steps), "step": "final", "level": f"p = {explanation.final_probability:.4f}", "weight": running, "start": 0.0, "end": running})
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Match weight waterfall (log2 Bayes factors)",
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "step", "type": "nominal", "sort": {"field": "order"}, "title": None},
            "y": {"field": "start", "type": "quantitative", "title": "match weight"},
            "y2": {"field": "end"},
            "color": {"condition": {"test": "datum.weight < 0", "value": "#d62728"}, "value": "#2ca02c"},
            "tooltip": [{"field": "step"}, {"field": "level"}, {"field": "weight", "format": "+.2f"}],
        },
    }
