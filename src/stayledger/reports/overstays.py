"""Fiscal-year overstay statistics by admission-class group and by nationality, with small cells suppressed.

Pure core: standard library only. The definitions follow the DHS Entry/Exit Overstay Report:

* Cohort (expected departures): stays admitted by air or sea whose authorised stay ends inside the fiscal
  year (FY2025 = 2024-10-01 .. 2025-09-30, both days included). The end is the determination's
  ``authorized_until``, i.e. after any extension or change of status, and the class group is the class at
  that end. Excluded and counted in footnotes: land arrivals, arrivals whose mode is unknown (we cannot tell
  whether they are in scope, so we do not guess), and stays with no end date (duration of status with no
  programme end, or an arrival without an admit-until date) that began on or before the end of the year.
* Out-of-country overstay: ``departed_late``, and ``departure_reported`` with overstay days > 0 (the
  traveller's own report of a late departure). Suspected in-country overstay: ``overstay``. Pending,
  adjusted, in_status, departed and timely reports are not overstays. ``needs_review`` is its own column:
  counted among expected departures, never as an overstay, never hidden.
* Rates are overstays / expected departures.

Suppression (privacy): a count from 1 to ``SUPPRESSION_THRESHOLD - 1`` is never published; a row whose
expected departures are below the threshold is withheld entirely (its zeros too, since "0 of 3 overstayed"
describes three people). A rate is published only when its numerator and its denominator both are.
Secondary suppression then withholds further cells until no withheld cell can be worked out from the
published ones through the table's additive relations (total = out-of-country + in-country in each row;
the total row = the sum of the rows in each column). Published rows hold ``None`` for a withheld cell, so
no renderer can leak a value by mistake. Limitation: the check reasons about each relation on its own with
value intervals; it is not a full linear-programming audit across all relations at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Final, Iterable

from stayledger.domain.stays import Status
from stayledger.reports.groups import ALL_OTHER, OTHER_B, STUDENTS, VISA_WAIVER, class_group

SUPPRESSION_THRESHOLD: Final = 10
REPORTED_MODES: Final = frozenset({"air", "sea"})
CLASS_GROUPS: Final = (VISA_WAIVER, OTHER_B, STUDENTS, ALL_OTHER)
CLASS_GROUP_TABLE: Final = "class_group"
NATIONALITY_TABLE: Final = "nationality"
TOTAL_LABEL: Final = "Total"

# Published count columns, in display order (total_overstays is derived: out-of-country + in-country).
EXPECTED = "expected_departures"
OUT_OF_COUNTRY = "out_of_country_overstays"
IN_COUNTRY = "suspected_in_country_overstays"
TOTAL = "total_overstays"
NEEDS_REVIEW = "needs_review"
COUNT_COLUMNS: Final = (EXPECTED, OUT_OF_COUNTRY, IN_COUNTRY, TOTAL, NEEDS_REVIEW)
TOTAL_RATE = "total_overstay_rate"
IN_COUNTRY_RATE = "suspected_in_country_rate"
RATE_NUMERATORS: Final = {TOTAL_RATE: TOTAL, IN_COUNTRY_RATE: IN_COUNTRY}


def fiscal_year_bounds(fiscal_year: int) -> tuple[date, date]:
    """First and last day of a US federal fiscal year: FY2025 is 2024-10-01 .. 2025-09-30."""
    if not 2 <= fiscal_year <= 9999:
        raise ValueError(f"fiscal year {fiscal_year} is outside 2..9999")
    return date(fiscal_year - 1, 10, 1), date(fiscal_year, 9, 30)


@dataclass(frozen=True, slots=True)
class StayFacts:
    """What the report needs to know about one determined stay (no identity, no names, no documents)."""

    admission_class: str  # the class at the end of the stay
    nationality: str  # alpha-3 of the document presented at arrival
    mode: str | None  # mode of the arrival: air, sea, land or None when unknown
    arrived_on: date
    authorized_until: date | None  # None: no end date (open-ended duration of status, or none given)
    status: Status
    overstay_days: int


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One published row. A count or rate is None when withheld (see ``suppressed``) or, for a rate,
    when there are no expected departures."""

    table: str  # CLASS_GROUP_TABLE or NATIONALITY_TABLE
    label: str  # class-group label, alpha-3 code, or TOTAL_LABEL
    expected_departures: int | None
    out_of_country_overstays: int | None
    suspected_in_country_overstays: int | None
    total_overstays: int | None
    total_overstay_rate: float | None
    suspected_in_country_rate: float | None
    needs_review: int | None
    suppressed: frozenset[str]  # names of the withheld columns

    @property
    def is_total(self) -> bool:
        return self.label == TOTAL_LABEL

    def value(self, column: str) -> int | float | None:
        """A column by name (the names in COUNT_COLUMNS and RATE_NUMERATORS)."""
        return getattr(self, column)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class OverstayReport:
    """A fiscal year's published overstay statistics: aggregates only, small cells withheld."""

    fiscal_year: int
    period_start: date
    period_end: date
    as_of: date | None
    threshold: int
    by_class_group: tuple[ReportRow, ...]  # the four groups in CLASS_GROUPS order, then the total
    by_nationality: tuple[ReportRow, ...]  # published expected departures (largest first), withheld rows, total
    excluded_land: int | None  # footnote counts, withheld below the threshold like any cell
    excluded_unknown_mode: int | None
    excluded_open_ended: int | None
    still_in_status: int | None  # cohort stays whose authorised stay had not ended by as_of

    @property
    def provisional(self) -> bool:
        """True when statuses were determined before the fiscal year was over."""
        return self.as_of is not None and self.as_of <= self.period_end

    @property
    def total(self) -> ReportRow:
        return self.by_class_group[-1]


# --- counting --------------------------------------------------------------------------------------

# Tally slots: expected, out-of-country, in-country, needs review, still in status.
_E, _O, _I, _R, _S = range(5)


def _outcome_slot(status: Status, overstay_days: int) -> int | None:
    """Which overstay column a cohort stay counts in, if any."""
    if status is Status.DEPARTED_LATE:
        return _O
    if status is Status.DEPARTURE_REPORTED and overstay_days > 0:
        return _O
    if status is Status.OVERSTAY:
        return _I
    if status is Status.NEEDS_REVIEW:
        return _R
    if status is Status.IN_STATUS:
        return _S
    return None


@dataclass(slots=True)
class _Counts:
    by_group: dict[str, list[int]]
    by_nationality: dict[str, list[int]]
    total: list[int]
    land: int = 0
    unknown_mode: int = 0
    open_ended: int = 0


def _count(stays: Iterable[StayFacts], start: date, end: date) -> _Counts:
    counts = _Counts({g: [0] * 5 for g in CLASS_GROUPS}, {}, [0] * 5)
    group_of: dict[str, str] = {}
    by_nationality = counts.by_nationality
    by_group = counts.by_group
    total = counts.total
    for stay in stays:
        until = stay.authorized_until
        if until is None:
            if stay.arrived_on <= end:
                counts.open_ended += 1
            continue
        if until < start or until > end:
            continue
        mode = stay.mode
        if mode not in REPORTED_MODES:
            if mode == "land":
                counts.land += 1
            else:
                counts.unknown_mode += 1
            continue
        group = group_of.get(stay.admission_class)
        if group is None:
            group = group_of[stay.admission_class] = class_group(stay.admission_class)
        nat = by_nationality.get(stay.nationality)
        if nat is None:
            nat = by_nationality[stay.nationality] = [0] * 5
        grp = by_group[group]
        slot = _outcome_slot(stay.status, stay.overstay_days)
        for tally in (grp, nat, total):
            tally[_E] += 1
            if slot is not None:
                tally[slot] += 1
    return counts


# --- suppression -----------------------------------------------------------------------------------

_Cell = tuple[str, str]  # (row key, column)
_GRAND = "*total*"  # the row key shared by both tables' total rows


def _signed_range(bounds: tuple[float, float], sign: int) -> tuple[float, float]:
    a, b = sign * bounds[0], sign * bounds[1]
    return (a, b) if a <= b else (b, a)


class _Sum:
    """A sum of terms that may be infinite, from which one term can be taken out again."""

    def __init__(self, terms: list[float]) -> None:
        self.finite = sum(t for t in terms if math.isfinite(t))
        self.plus = sum(1 for t in terms if t == math.inf)
        self.minus = sum(1 for t in terms if t == -math.inf)

    def without(self, term: float) -> float:
        plus = self.plus - (term == math.inf)
        minus = self.minus - (term == -math.inf)
        # Lower ends are never +inf and upper ends never -inf, so at most one kind of infinity is present.
        if plus:
            return math.inf
        if minus:
            return -math.inf
        return self.finite - (term if math.isfinite(term) else 0)


@dataclass(slots=True)
class _Suppression:
    """Cell values, the withheld set and what an outsider can know about each withheld cell."""

    values: dict[_Cell, int]
    threshold: int
    withheld: set[_Cell]
    known_range: dict[_Cell, tuple[float, float]]

    def withhold_small(self, rows: dict[str, dict[str, int]]) -> None:
        """Primary suppression: small counts, and every cell of a row with few expected departures.

        A zero in a column whose total is zero stays published even in such a row: the total already says
        it, and hiding it would only force the total (and every other zero of the column) to be hidden too.
        """
        small = self.threshold - 1
        grand = rows[_GRAND]
        for key, row in rows.items():
            if 0 < row[EXPECTED] < self.threshold:
                for column in COUNT_COLUMNS:
                    if grand[column] == 0:
                        continue
                    self.withheld.add((key, column))
                    self.known_range[(key, column)] = (0, small)
                continue
            for column in COUNT_COLUMNS:
                if 0 < row[column] < self.threshold:
                    self.withheld.add((key, column))
                    self.known_range[(key, column)] = (1, small)

    def _range(self, cell: _Cell) -> tuple[float, float]:
        return self.known_range.get(cell, (0, math.inf))

    def _exposed(self, total: _Cell, parts: list[_Cell]) -> bool:
        """Whether some withheld cell of ``total = sum(parts)`` is pinned to one value by the others."""
        signed = [(total, 1)] + [(p, -1) for p in parts]
        hidden = [(c, s) for c, s in signed if c in self.withheld]
        if not hidden:
            return False
        known = sum(s * self.values[c] for c, s in signed if c not in self.withheld)
        # Each hidden term sign*x lies in [low, high]; sums over "all but one" must not subtract infinities.
        terms = [_signed_range(self._range(c), s) for c, s in hidden]
        low_sum, high_sum = _Sum([t[0] for t in terms]), _Sum([t[1] for t in terms])
        for (cell, sign), (own_low, own_high) in zip(hidden, terms):
            lo, hi = self._range(cell)
            others_low, others_high = low_sum.without(own_low), high_sum.without(own_high)
            # sign*x = -known - (the other hidden terms)
            bound_a, bound_b = (-known - others_high) * sign, (-known - others_low) * sign
            implied_low, implied_high = max(lo, min(bound_a, bound_b)), min(hi, max(bound_a, bound_b))
            if implied_low == implied_high:
                return True
        return False

    def _withhold_one_more(self, total: _Cell, parts: list[_Cell]) -> bool:
        shown = [p for p in parts if p not in self.withheld]
        if shown:
            # The smallest shown part costs the least information; a zero hides almost nothing, so it
            # is chosen only when nothing else is left. Ties go to the earliest.
            choice = min(shown, key=lambda c: (self.values[c] == 0, self.values[c]))
        elif total not in self.withheld:
            choice = total
        else:
            return False
        self.withheld.add(choice)
        return True

    def protect(self, relations: list[tuple[_Cell, list[_Cell]]]) -> None:
        """Secondary suppression until no relation pins a withheld cell (suppression only grows, so this ends)."""
        changed = True
        while changed:
            changed = False
            for total, parts in relations:
                while self._exposed(total, parts) and self._withhold_one_more(total, parts):
                    changed = True


def _row_values(tally: list[int]) -> dict[str, int]:
    return {
        EXPECTED: tally[_E],
        OUT_OF_COUNTRY: tally[_O],
        IN_COUNTRY: tally[_I],
        TOTAL: tally[_O] + tally[_I],
        NEEDS_REVIEW: tally[_R],
    }


def _relations(group_keys: list[str], nationality_keys: list[str]) -> list[tuple[_Cell, list[_Cell]]]:
    relations: list[tuple[_Cell, list[_Cell]]] = []
    for key in [_GRAND, *group_keys, *nationality_keys]:
        relations.append(((key, TOTAL), [(key, OUT_OF_COUNTRY), (key, IN_COUNTRY)]))
    for keys in (group_keys, nationality_keys):
        for column in COUNT_COLUMNS:
            relations.append(((_GRAND, column), [(k, column) for k in keys]))
    return relations


def _published(table: str, label: str, key: str, values: dict[_Cell, int], withheld: set[_Cell]) -> ReportRow:
    counts: dict[str, int | None] = {c: None if (key, c) in withheld else values[(key, c)] for c in COUNT_COLUMNS}
    hidden = {c for c in COUNT_COLUMNS if counts[c] is None}
    rates: dict[str, float | None] = {}
    expected = counts[EXPECTED]
    for rate, numerator in RATE_NUMERATORS.items():
        top = counts[numerator]
        if expected is None or top is None:
            rates[rate] = None
            hidden.add(rate)
        else:
            rates[rate] = top / expected if expected else None
    return ReportRow(
        table=table,
        label=label,
        expected_departures=counts[EXPECTED],
        out_of_country_overstays=counts[OUT_OF_COUNTRY],
        suspected_in_country_overstays=counts[IN_COUNTRY],
        total_overstays=counts[TOTAL],
        total_overstay_rate=rates[TOTAL_RATE],
        suspected_in_country_rate=rates[IN_COUNTRY_RATE],
        needs_review=counts[NEEDS_REVIEW],
        suppressed=frozenset(hidden),
    )


def _footnote(count: int, threshold: int) -> int | None:
    return None if 0 < count < threshold else count


def aggregate_overstays(
    stays: Iterable[StayFacts], fiscal_year: int, *, as_of: date | None = None, threshold: int = SUPPRESSION_THRESHOLD
) -> OverstayReport:
    """The fiscal year's overstay tables (by class group and by nationality) with small cells withheld.

    ``as_of`` is only recorded (the statuses in ``stays`` were determined as of that day).
    """
    start, end = fiscal_year_bounds(fiscal_year)
    counts = _count(stays, start, end)

    rows: dict[str, dict[str, int]] = {_GRAND: _row_values(counts.total)}
    group_keys = [f"g:{g}" for g in CLASS_GROUPS]
    for group, key in zip(CLASS_GROUPS, group_keys):
        rows[key] = _row_values(counts.by_group[group])
    nationality_keys = [f"n:{n}" for n in sorted(counts.by_nationality)]
    for key in nationality_keys:
        rows[key] = _row_values(counts.by_nationality[key[2:]])

    values = {(key, column): v for key, row in rows.items() for column, v in row.items()}
    suppression = _Suppression(values, threshold, set(), {})
    suppression.withhold_small(rows)
    suppression.protect(_relations(group_keys, nationality_keys))
    withheld = suppression.withheld

    total_class = _published(CLASS_GROUP_TABLE, TOTAL_LABEL, _GRAND, values, withheld)
    total_nat = _published(NATIONALITY_TABLE, TOTAL_LABEL, _GRAND, values, withheld)
    by_group = tuple(_published(CLASS_GROUP_TABLE, g, k, values, withheld) for g, k in zip(CLASS_GROUPS, group_keys))
    nationalities = [_published(NATIONALITY_TABLE, k[2:], k, values, withheld) for k in nationality_keys]
    # Order by published size only: the order of withheld rows (alphabetical) must not hint at their sizes.
    shown = sorted(
        (r for r in nationalities if r.expected_departures is not None),
        key=lambda r: (-(r.expected_departures or 0), r.label),
    )
    hidden = [r for r in nationalities if r.expected_departures is None]

    return OverstayReport(
        fiscal_year=fiscal_year,
        period_start=start,
        period_end=end,
        as_of=as_of,
        threshold=threshold,
        by_class_group=(*by_group, total_class),
        by_nationality=(*shown, *hidden, total_nat),
        excluded_land=_footnote(counts.land, threshold),
        excluded_unknown_mode=_footnote(counts.unknown_mode, threshold),
        excluded_open_ended=_footnote(counts.open_ended, threshold),
        still_in_status=_footnote(counts.total[_S], threshold),
    )
