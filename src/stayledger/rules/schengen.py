"""Schengen short stay: at most 90 days of presence in any 180-day period.

Pure core: standard library only, no clock. ``schengen_calc`` is the calculator (days used, overstay,
latest exit if present continuously from a date); ``determine_person_stays`` applies it to one person's
events as a rule pack. Entry and exit days both count as days of presence. Stays under a long-stay (D)
visa or a residence permit do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final, Mapping, Sequence

from stayledger.domain.events import Event
from stayledger.domain.stays import ClosedBy, EvidenceEvent, HeldBecause, Status, StayDetermination, event_order_key
from stayledger.errors import FieldError, InvalidRecord

RULE_PACK: Final = "schengen"
RULE_VERSION: Final = "2026.1"
MAX_DAYS: Final = 90
PERIOD_DAYS: Final = 180

_ONE_DAY: Final = timedelta(days=1)
# Classes (upper case, '-' and spaces dropped) that are not short stays: long-stay visas and residence permits.
_RESIDENCE_CLASSES: Final = frozenset({"RP", "RESIDENCE", "RESIDENCEPERMIT", "PERMIT"})


@dataclass(frozen=True, slots=True)
class SchengenResult:
    """The calculator's answer for one check date."""

    on: date
    days_used: int  # days of presence in the 180 days ending on `on` (on included only if inside a stay)
    overstay_days: int  # max(0, days_used - 90)
    latest_exit: date | None  # last day one may stay if present continuously from `on`; None if already over
    max_stay_days: int  # days from `on` to latest_exit, both included; 0 when latest_exit is None
    overstay_from: date | None = None  # the 91st day of presence in the period, when there is an overstay
    overstay_to: date | None = None  # the last day of presence in the period, when there is an overstay

    @property
    def period_start(self) -> date:
        """First day of the 180-day period that ends on `on`."""
        return self.on - timedelta(days=PERIOD_DAYS - 1)


def counts_under_short_stay_rule(admission_class: str) -> bool:
    """Whether a stay under this class counts towards 90/180: C visas and visa-exempt stays do.

    Long-stay visas (any class starting with D, e.g. D, D-VISA) and residence permits (RP, RESIDENCE,
    PERMIT) do not.
    """
    cleaned = admission_class.upper().replace("-", "").replace(" ", "")
    return not (cleaned.startswith("D") or cleaned in _RESIDENCE_CLASSES)


def _merge(stays: Sequence[tuple[date, date]]) -> list[tuple[date, date]]:
    """Validate the stays and merge overlapping or touching ones, in date order."""
    checked: list[tuple[date, date]] = []
    for number, pair in enumerate(stays, start=1):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise InvalidRecord(f"stay {number}", [FieldError("stay", "expected a (start, end) pair of dates")])
        start, end = pair
        where = f"stay {number} ({start}..{end})"
        if not isinstance(start, date) or not isinstance(end, date):
            raise InvalidRecord(where, [FieldError("stay", "start and end must be dates")])
        if start > end:
            raise InvalidRecord(where, [FieldError("end", f"{end} is before the start {start}")])
        checked.append((start, end))
    checked.sort()
    merged: list[tuple[date, date]] = []
    for start, end in checked:
        if merged and start <= merged[-1][1] + _ONE_DAY:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _presence_days(merged: list[tuple[date, date]], first: date, last: date) -> int:
    """Days of presence between first and last, both included."""
    total = 0
    for start, end in merged:
        lo = start if start > first else first
        hi = end if end < last else last
        if lo <= hi:
            total += (hi - lo).days + 1
    return total


def _is_present(merged: list[tuple[date, date]], day: date) -> bool:
    return any(start <= day <= end for start, end in merged)


def schengen_calc(stays: Sequence[tuple[date, date]], on: date) -> SchengenResult:
    """Days used in the 180-day period ending on `on`, the overstay, and the latest exit.

    `stays` are (entry, exit) day pairs, both days of presence; overlapping stays are merged. The latest
    exit assumes continuous presence from `on` onwards (later stays are not known) and is the last day on
    which the rolling 180-day count is still at most 90.
    """
    merged = _merge(stays)
    period_start = on - timedelta(days=PERIOD_DAYS - 1)
    days_used = _presence_days(merged, period_start, on)
    overstay_days = max(0, days_used - MAX_DAYS)
    overstay_from = overstay_to = None
    if overstay_days:
        overstay_from, overstay_to = _overstay_period(merged, period_start, on)

    # Count on `on` with presence from `on` onwards; moving one day on adds that day and drops the
    # day leaving the period. Once the count passes 90 it never comes down again.
    count = _presence_days(merged, period_start, on - _ONE_DAY) + 1
    if count > MAX_DAYS:
        return SchengenResult(on, days_used, overstay_days, None, 0, overstay_from, overstay_to)
    day = on
    while True:
        following = day + _ONE_DAY
        leaving = following - timedelta(days=PERIOD_DAYS)
        count += 1 - (1 if leaving >= on or _is_present(merged, leaving) else 0)
        if count > MAX_DAYS:
            break
        day = following
    return SchengenResult(on, days_used, overstay_days, day, (day - on).days + 1, overstay_from, overstay_to)


def _overstay_period(merged: list[tuple[date, date]], first: date, last: date) -> tuple[date, date]:
    """The 91st and the last day of presence between first and last."""
    seen = 0
    overstay_from: date | None = None
    final = first
    for start, end in merged:
        lo = start if start > first else first
        hi = end if end < last else last
        if lo > hi:
            continue
        length = (hi - lo).days + 1
        if overstay_from is None and seen + length > MAX_DAYS:
            overstay_from = lo + timedelta(days=MAX_DAYS - seen)
        seen += length
        final = hi
    assert overstay_from is not None  # only called when days_used > MAX_DAYS
    return overstay_from, final


def render_text(result: SchengenResult) -> str:
    """The calculator's answer in the wording of the EU short-stay calculator, one statement per line."""
    lines = [
        f"Days of stay in the 180-day period from {result.period_start} to {result.on}: {result.days_used} day(s)"
    ]
    if result.overstay_days:
        lines.append(
            f"Possible overstay in the period from {result.overstay_from} to {result.overstay_to} "
            f"({result.overstay_days} days)"
        )
    elif result.latest_exit is None:
        lines.append(f"No stay possible on {result.on}: {MAX_DAYS} day(s) already used")
    else:
        lines.append(f"Possible stay until {result.latest_exit} ({result.max_stay_days} day(s))")
    return "\n".join(lines)


def to_json_dict(result: SchengenResult) -> dict[str, Any]:
    """The calculator's answer as a JSON-ready mapping."""
    return {
        "days_used": result.days_used,
        "overstay_days": result.overstay_days,
        "latest_exit": result.latest_exit.isoformat() if result.latest_exit is not None else None,
        "max_stay_days": result.max_stay_days,
    }


def _windows(events: Sequence[Event], as_of: date) -> list[list[Event]]:
    """One window per arrival on or before as_of: the arrival, then the events up to the next arrival."""
    windows: list[list[Event]] = []
    for event in sorted((e for e in events if e.occurred_on <= as_of), key=event_order_key):
        if event.kind == "arrival":
            windows.append([event])
        elif windows:
            windows[-1].append(event)
    return windows


def determine_person_stays(
    person_id: str,
    events: Sequence[Event],
    as_of: date,
    *,
    link_probabilities: Mapping[str, float] | None = None,
    uncertain_event_ids: frozenset[str] = frozenset(),
) -> list[StayDetermination]:
    """Determine every stay of one person under the 90/180 rule: one determination per arrival.

    A stay ends at its first departure (or departure report). A stay whose exit is unknown (the next
    arrival is the only evidence of leaving) counts only its entry day towards later stays. Status
    changes are not used by this pack. A long-stay (D) or residence stay is not judged by 90/180: it is
    departed, in_status up to its admitted_until, and needs_review after it (national rules apply).
    """
    windows = _windows(events, as_of)
    counted: list[tuple[date, date]] = []  # presence so far under the short-stay rule
    counted_events: list[Event] = []  # the events behind that presence
    results: list[StayDetermination] = []
    for index, window in enumerate(windows):
        arrival = window[0]
        next_arrival = windows[index + 1][0] if index + 1 < len(windows) else None
        exit_event = next((e for e in window if e.kind == "departure"), None)
        if exit_event is None:
            exit_event = next((e for e in window if e.kind == "departure_report"), None)
        cls = arrival.admission_class or ""
        steps = [f"arrival {arrival.event_id} on {arrival.occurred_on} admitted {cls}"]
        if counts_under_short_stay_rule(cls):
            status, days, until, closer, end = _short_stay(arrival, exit_event, next_arrival, as_of, counted, steps)
            depends_on = [arrival] + ([closer] if closer is not None else [])
            if days:
                depends_on += counted_events  # earlier presence can only have made it worse
            counted.append((arrival.occurred_on, end))
            counted_events.append(arrival)
            if exit_event is not None and exit_event is closer:
                counted_events.append(exit_event)
        else:
            status, days, until, closer = _long_stay(arrival, exit_event, next_arrival, as_of, steps)
            depends_on = [arrival] + ([closer] if closer is not None else [])
        culprits = [e for e in dict.fromkeys(depends_on) if e.event_id in uncertain_event_ids]
        for e in culprits:
            steps.append(
                f"{e.kind} {e.event_id} is joined to this person only by an unreviewed grey-zone link "
                "and the determination rests on it → needs_review"
            )
        if culprits:
            status, days = Status.NEEDS_REVIEW, 0
        held: HeldBecause | None = None
        if culprits:
            held = HeldBecause.IDENTITY_LINK
        elif status is Status.NEEDS_REVIEW:
            short = counts_under_short_stay_rule(cls)
            held = HeldBecause.DEPARTURE_UNKNOWN if short else HeldBecause.NATIONAL_RULES
        used = [arrival] + ([closer] if closer is not None else [])
        probabilities = link_probabilities or {}
        results.append(
            StayDetermination(
                arrival_event_id=arrival.event_id,
                person_id=person_id,
                status=status,
                authorized_until=until,
                overstay_days=days,
                admission_class=cls,
                closing_event_id=closer.event_id if closer is not None else None,
                closed_by=ClosedBy.of(closer),
                pending=False,
                rule_pack=RULE_PACK,
                rule_version=RULE_VERSION,
                steps=tuple(steps),
                evidence=tuple(
                    EvidenceEvent(e.event_id, e.kind, e.source, e.occurred_on, probabilities.get(e.event_id))
                    for e in used
                ),
                uncertain_links=tuple(e.event_id for e in culprits),
                held_because=held,
            )
        )
    return results


def _short_stay(
    arrival: Event,
    exit_event: Event | None,
    next_arrival: Event | None,
    as_of: date,
    counted: list[tuple[date, date]],
    steps: list[str],
) -> tuple[Status, int, date | None, Event | None, date]:
    """(status, overstay_days, latest exit as seen at entry, closing event, last day of presence counted)."""
    entry = arrival.occurred_on
    at_entry = schengen_calc(counted + [(entry, entry)], entry)
    until = at_entry.latest_exit
    steps.append(f"{at_entry.days_used} day(s) used on entry; possible stay until {until or 'none (90 days used)'}")
    if exit_event is not None:
        result = schengen_calc(counted + [(entry, exit_event.occurred_on)], exit_event.occurred_on)
        reported = exit_event.kind == "departure_report"
        if reported:
            status = Status.DEPARTURE_REPORTED
        else:
            status = Status.DEPARTED_LATE if result.overstay_days else Status.DEPARTED
        steps.append(
            f"{exit_event.kind} {exit_event.event_id} on {exit_event.occurred_on}: {result.days_used} day(s) "
            f"in the 180-day period → {status.value} {result.overstay_days} days"
        )
        return status, result.overstay_days, until, exit_event, exit_event.occurred_on
    if next_arrival is not None:
        if until is not None and next_arrival.occurred_on <= until:
            steps.append(
                f"no departure; next arrival {next_arrival.event_id} on {next_arrival.occurred_on} ≤ {until} "
                "→ departed; "
                "only the entry day counts towards later stays"
            )
            return Status.DEPARTED, 0, until, next_arrival, entry
        steps.append(
            f"no departure; next arrival {next_arrival.event_id} on {next_arrival.occurred_on} is after the possible "
            "stay; the departure date is unknown → needs_review; only the entry day counts towards later stays"
        )
        return Status.NEEDS_REVIEW, 0, until, next_arrival, entry
    result = schengen_calc(counted + [(entry, as_of)], as_of)
    if result.overstay_days:
        steps.append(f"no departure; as_of {as_of}: {result.days_used} day(s) in the 180-day period → overstay")
        return Status.OVERSTAY, result.overstay_days, until, None, as_of
    steps.append(f"no departure; as_of {as_of}: {result.days_used} day(s) in the 180-day period → in_status")
    return Status.IN_STATUS, 0, until, None, as_of


def _long_stay(
    arrival: Event, exit_event: Event | None, next_arrival: Event | None, as_of: date, steps: list[str]
) -> tuple[Status, int, date | None, Event | None]:
    """A long-stay or residence stay: not counted under 90/180; national rules decide, so never an overstay here."""
    until = arrival.admitted_until
    steps.append("long-stay or residence class: not counted under the 90/180 rule")
    closer = exit_event or next_arrival
    if exit_event is not None and exit_event.kind == "departure":
        steps.append(f"departure {exit_event.event_id} on {exit_event.occurred_on} → departed")
        return Status.DEPARTED, 0, until, exit_event
    if closer is not None:
        steps.append(f"{closer.kind} {closer.event_id} on {closer.occurred_on} → needs_review (national rules)")
        return Status.NEEDS_REVIEW, 0, until, closer
    if until is None or as_of <= until:
        steps.append(f"no departure; authorised until {until or 'not given'} → in_status")
        return Status.IN_STATUS, 0, until, None
    steps.append(f"no departure; as_of {as_of} > {until} → needs_review (national rules)")
    return Status.NEEDS_REVIEW, 0, until, None
