"""Corrections to Splink's trained parameters, applied whatever engine trained them.

Splink estimates u from random pairs and m by EM; both assume what travel records do not hold (matches
are rare among random pairs; every level is observed in training). These functions rewrite a trained
settings dict (Splink's saved model) so the model's weights say what the domain knows. Pure: they take and
change plain dicts.
"""

from __future__ import annotations

from typing import Any, Final

from stayledger.identity.model import ModelTrainingError
from stayledger.identity.model_spec import ELSE_LEVEL, comparisons

# Least share of same-person record pairs assumed to show a different document (renewals,
# second passports) or a different nationality (dual nationals), whatever training suggests.
# Birth dates and sex are mis-keyed or amended too (a wrong field copied, a changed sex marker):
# evidence against, never a block.
DIFFERENT_LEVEL_MIN_M: Final[dict[str, float]] = {
    "document_number": 0.01, "nationality": 0.01, "date_of_birth": 0.005, "sex": 0.005,
}
# Comparisons whose random-sampling u is corrected for the matches among random pairs.
CORRECTED_FOR_MATCHES: Final = frozenset({"document_number"})


def use_prediction_conditions(settings: dict[str, Any]) -> None:
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


def remove_matches_from_u(settings: dict[str, Any], *, floor: float) -> None:
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


def apply_m_floors(settings: dict[str, Any]) -> None:
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
        else_level = next(lv for lv in levels if lv["sql_condition"].strip().upper() == ELSE_LEVEL)
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


def neutralise_unobserved_levels(settings: dict[str, Any], *, u_floor: float) -> list[str]:
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


def correct_trained_settings(settings: dict[str, Any], *, pairs_sampled: int) -> list[str]:
    """Apply every correction, in order, to Splink's trained settings (changed in place); return the levels
    that carry no weight because training never observed them.

    ``pairs_sampled`` is the number of random pairs u was estimated from: one in it is the finest u
    sampling can resolve, the floor of the corrected u.
    """
    settings.pop("linker_uid", None)
    use_prediction_conditions(settings)
    remove_matches_from_u(settings, floor=1.0 / pairs_sampled)
    apply_m_floors(settings)
    return neutralise_unobserved_levels(settings, u_floor=1.0 / pairs_sampled)
