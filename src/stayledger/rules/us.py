"""US-style stay rules: I-94 admit-until dates, duration of status, extensions and changes of status.

Pure core: standard library only, no clock (``as_of`` is always passed in). The rules, in brief:

* Only events on or before ``as_of`` count. A person's events are ordered by date, then
  arrival < status_change < departure < departure_report, then event_id.
* Each arrival starts a stay whose window runs until the person's next arrival.
* Authorised until = ``admitted_until``; with ``duration_of_status`` the stay is open-ended until a
  ``program_ended`` event, then the programme end date plus a grace period (F 60 days, J 30, M 30,
  others 0). The grace period goes by the first letter of the class, so F1, F-1 and F are all F.
* Status changes inside the window and before its first departure adjust the stay (see
  ``_apply_change``); the status is then decided by the first matching clause of ``_decide``.
* A stay whose determination rests on an event joined to the person only by an unreviewed grey-zone
  link is ``needs_review``.

Readings where the rule text leaves room (each has a test):

* "Before the first departure" means the first ``departure`` event; a ``departure_report`` does not
  stop later status changes from applying (a recorded departure still outranks the report).
* A departure after the authorised stay is ``departed_late`` even if a timely application was pending
  (the determination says ``pending=True`` and the step says so).
* ``extension_granted`` gives a fixed date, so it also ends duration of status; a denial leaves an
  open-ended stay open-ended; ``program_ended`` on a stay not under duration of status is ignored.
* A status change's ``admission_ref`` can only move it to a stay whose window (arrival date to the next
  arrival date, both days included) contains its date, i.e. a change dated on the day of a later arrival.
* Unreviewed links: the arrival, the closing event (departure, report, later arrival), the
  ``adjusted_to_permanent`` event and any change that moved the authorised-until date count. For an
  overstay, which rests on a missing departure, only changes that shortened the stay or ended a pending
  application count besides the arrival; for ``pending``, the filings count only if all are unreviewed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Mapping, Sequence

from stayledger.domain.events import Event
from stayledger.domain.stays import ClosedBy, EvidenceEvent, HeldBecause, Status, StayDetermination, event_order_key

RULE_PACK: Final = "us"
RULE_VERSION: Final = "2026.1"

# Grace after a duration-of-status programme ends, by the first letter of the class (F1/F-1/F -> F).
_GRACE_DAYS: Final = {"F": 60, "J": 30, "M": 30}


def grace_days(admission_class: str) -> int:
    """Days of grace after a duration-of-status programme ends: F 60, J 30, M 30, any other class 0."""
    return _GRACE_DAYS.get(admission_class[:1].upper(), 0)


@dataclass(slots=True)
class _Stay:
    """The authorised stay as the window's status changes shape it."""

    admission_class: str
    until: date | None  # None: open-ended, or unknown when known_until is False
    open_ended: bool
    known_until: bool  # False only for an arrival with neither admitted_until nor duration_of_status
    duration_of_status: bool
    steps: list[str]
    used: list[Event] = field(default_factory=list)  # status changes that had an effect
    until_changes: list[tuple[Event, bool]] = field(default_factory=list)  # (event, made the stay shorter)
    pending_by: list[Event] = field(default_factory=list)  # timely filings keeping an application pending
    pending_cleared_by: Event | None = None
    adjusted_by: Event | None = None

    def describe_until(self) -> str:
        if self.open_ended:
            return "open-ended (duration of status)"
        return str(self.until) if self.known_until else "unknown"

    def set_until(self, event: Event, new_until: date) -> None:
        shortened = self.open_ended or not self.known_until or (self.until is not None and new_until < self.until)
        if self.open_ended or not self.known_until or new_until != self.until:
            self.until_changes.append((event, shortened))
        self.until = new_until
        self.open_ended = False
        self.known_until = True

    def clear_pending(self, event: Event) -> None:
        if self.pending_by:
            self.pending_by = []
            self.pending_cleared_by = event


def _open_stay(arrival: Event) -> _Stay:
    cls = arrival.admission_class or ""
    if arrival.duration_of_status:
        step = f"arrival {arrival.event_id} on {arrival.occurred_on} admitted {cls} for duration of status (open-ended)"
        if arrival.admitted_until is not None:
            step += f"; admitted_until {arrival.admitted_until} not used under duration of status"
        return _Stay(cls, None, True, True, True, [step])
    if arrival.admitted_until is None:
        step = f"arrival {arrival.event_id} on {arrival.occurred_on} admitted {cls} with no admit-until date"
        return _Stay(cls, None, False, False, False, [step])
    step = f"arrival {arrival.event_id} on {arrival.occurred_on} admitted {cls} until {arrival.admitted_until}"
    return _Stay(cls, arrival.admitted_until, False, True, False, [step])


def _apply_change(stay: _Stay, event: Event) -> None:
    """Apply one status change that falls inside the stay's window before its first departure."""
    change = event.change
    label = f"{change} {event.event_id} on {event.occurred_on}"
    steps = stay.steps
    if change == "extension_filed":
        timely = stay.open_ended or (stay.until is not None and event.occurred_on <= stay.until)
        if timely:
            stay.pending_by.append(event)
            stay.used.append(event)
            steps.append(f"{label} is timely (authorised until {stay.describe_until()}) → pending")
        else:
            steps.append(f"{label} is not timely (authorised until {stay.describe_until()}) → no effect")
    elif change == "extension_granted":
        if event.new_until is None:
            steps.append(f"{label} has no new_until → ignored")
            return
        stay.set_until(event, event.new_until)
        stay.duration_of_status = False
        stay.clear_pending(event)
        stay.used.append(event)
        steps.append(f"{label} → authorised until {event.new_until}")
    elif change == "extension_denied":
        was_pending = bool(stay.pending_by)
        stay.clear_pending(event)
        later = stay.known_until and not stay.open_ended and stay.until is not None and event.occurred_on > stay.until
        if later:
            stay.set_until(event, event.occurred_on)
        if was_pending or later:
            stay.used.append(event)
        steps.append(f"{label} ends any pending application; authorised until {stay.describe_until()}")
    elif change == "status_changed":
        if event.new_until is None:
            steps.append(f"{label} has no new_until → ignored")
            return
        stay.admission_class = event.new_class or stay.admission_class
        stay.set_until(event, event.new_until)
        stay.duration_of_status = False
        stay.clear_pending(event)
        stay.used.append(event)
        steps.append(f"{label} → class {stay.admission_class}, authorised until {event.new_until}")
    elif change == "program_ended":
        if not stay.duration_of_status:
            steps.append(f"{label} ignored: the stay is not under duration of status")
            return
        grace = grace_days(stay.admission_class)
        stay.set_until(event, event.occurred_on + timedelta(days=grace))
        stay.used.append(event)
        steps.append(f"{label}: class {stay.admission_class} grace {grace} days → authorised until {stay.until}")
    elif change == "adjusted_to_permanent":
        stay.adjusted_by = event
        stay.used.append(event)
    else:
        steps.append(f"status_change {event.event_id} with unknown change {change!r} ignored")


def _decide(
    stay: _Stay, departure: Event | None, report: Event | None, next_arrival: Event | None, as_of: date
) -> tuple[Status, int, Event | None]:
    """The first matching clause decides: (status, overstay_days, the event that closed the stay)."""
    steps = stay.steps
    until = stay.until
    if stay.adjusted_by is not None:
        adj = stay.adjusted_by
        steps.append(f"adjusted_to_permanent {adj.event_id} on {adj.occurred_on} → adjusted")
        return Status.ADJUSTED, 0, None
    if not stay.known_until:
        steps.append("the arrival gives neither admitted_until nor duration of status → needs_review")
        return Status.NEEDS_REVIEW, 0, departure or report or next_arrival
    if departure is not None:
        on = departure.occurred_on
        if stay.open_ended or until is None or on <= until:
            steps.append(f"departure {departure.event_id} on {on}; authorised until {stay.describe_until()} → departed")
            return Status.DEPARTED, 0, departure
        days = (on - until).days
        note = " (a timely application was still pending)" if stay.pending_by else ""
        steps.append(f"departure {departure.event_id} on {on} > {until}{note} → departed_late {days} days")
        return Status.DEPARTED_LATE, days, departure
    if report is not None:
        on = report.occurred_on
        days = 0 if stay.open_ended or until is None else max(0, (on - until).days)
        steps.append(
            f"no departure in window; departure_report {report.event_id} on {on}; "
            f"authorised until {stay.describe_until()} → departure_reported {days} days"
        )
        return Status.DEPARTURE_REPORTED, days, report
    if next_arrival is not None:
        on = next_arrival.occurred_on
        if stay.open_ended or until is None or on <= until:
            steps.append(
                f"no departure in window; next arrival {next_arrival.event_id} on {on}; "
                f"authorised until {stay.describe_until()} → departed"
            )
            return Status.DEPARTED, 0, next_arrival
        steps.append(
            f"no departure in window; next arrival {next_arrival.event_id} on {on} > {until}; "
            "the departure date is unknown → needs_review"
        )
        return Status.NEEDS_REVIEW, 0, next_arrival
    if stay.open_ended or until is None:
        steps.append("no departure in window; stay open-ended (duration of status) → in_status")
        return Status.IN_STATUS, 0, None
    if as_of <= until:
        steps.append(f"no departure in window; as_of {as_of} ≤ {until} → in_status")
        return Status.IN_STATUS, 0, None
    if stay.pending_by:
        filing = stay.pending_by[0]
        steps.append(
            f"no departure in window; as_of {as_of} > {until} "
            f"but timely application {filing.event_id} pending → pending"
        )
        return Status.PENDING, 0, None
    days = (as_of - until).days
    steps.append(f"no departure in window; as_of {as_of} > {until} → overstay {days} days")
    return Status.OVERSTAY, days, None


def _decisive_uncertain(
    stay: _Stay, arrival: Event, status: Status, closer: Event | None, uncertain: frozenset[str]
) -> list[Event]:
    """The events joined only by an unreviewed grey-zone link on which the status rests."""
    found: list[Event] = []
    if arrival.event_id in uncertain:
        found.append(arrival)
    if status is Status.ADJUSTED:
        if stay.adjusted_by is not None and stay.adjusted_by.event_id in uncertain:
            found.append(stay.adjusted_by)
        return found
    if closer is not None and closer.event_id in uncertain:
        found.append(closer)
    if status is Status.OVERSTAY:
        # An overstay rests on a missing departure: a change that only lengthened the stay cannot have
        # caused it; one that shortened it, or ended a pending application, can.
        found.extend(e for e, shortened in stay.until_changes if shortened and e.event_id in uncertain)
        cleared = stay.pending_cleared_by
        if cleared is not None and cleared.event_id in uncertain:
            found.append(cleared)
    else:
        found.extend(e for e, _ in stay.until_changes if e.event_id in uncertain)
        if status is Status.PENDING and all(e.event_id in uncertain for e in stay.pending_by):
            found.extend(stay.pending_by)
    unique: dict[str, Event] = {}
    for e in found:
        unique.setdefault(e.event_id, e)
    return list(unique.values())


def _evidence(events: list[Event], probabilities: Mapping[str, float] | None) -> tuple[EvidenceEvent, ...]:
    if probabilities:
        get = probabilities.get
        return tuple([EvidenceEvent(e.event_id, e.kind, e.source, e.occurred_on, get(e.event_id)) for e in events])
    return tuple([EvidenceEvent(e.event_id, e.kind, e.source, e.occurred_on, None) for e in events])


def _probability_note(event_id: str, probabilities: Mapping[str, float] | None) -> str:
    if probabilities and event_id in probabilities:
        return f" (p={probabilities[event_id]:.2f})"
    return ""


def _determine_stay(
    person_id: str,
    window: list[Event],
    next_arrival: Event | None,
    as_of: date,
    probabilities: Mapping[str, float] | None,
    uncertain: frozenset[str],
) -> StayDetermination:
    arrival = window[0]
    stay = _open_stay(arrival)
    departure: Event | None = None
    report: Event | None = None
    for index in range(1, len(window)):
        event = window[index]
        kind = event.kind
        if kind == "departure":
            departure = event
            left = len(window) - index - 1
            if left:
                stay.steps.append(f"{left} later event(s) in the window after departure {event.event_id} ignored")
            break
        if kind == "status_change":
            _apply_change(stay, event)
            if stay.adjusted_by is not None:
                break
        elif kind == "departure_report" and report is None:
            report = event

    status, overstay_days, closer = _decide(stay, departure, report, next_arrival, as_of)
    uncertain_links: tuple[str, ...] = ()
    if uncertain:
        culprits = _decisive_uncertain(stay, arrival, status, closer, uncertain)
        if culprits:
            for e in culprits:
                stay.steps.append(
                    f"{e.kind} {e.event_id} is joined to this person only by an unreviewed grey-zone link"
                    f"{_probability_note(e.event_id, probabilities)} and the determination rests on it → needs_review"
                )
            status, overstay_days = Status.NEEDS_REVIEW, 0
            uncertain_links = tuple(e.event_id for e in culprits)
        else:
            bystanders = [e.event_id for e in stay.used if e.event_id in uncertain]
            if bystanders:
                stay.steps.append(
                    f"unreviewed grey-zone link(s) {', '.join(bystanders)} do not change the status"
                )

    used = [arrival, *stay.used]
    if closer is not None:
        used.append(closer)
    held: HeldBecause | None = None
    if status is Status.NEEDS_REVIEW:
        if uncertain_links:
            held = HeldBecause.IDENTITY_LINK
        elif not stay.known_until:
            held = HeldBecause.NO_AUTHORISED_STAY
        else:
            held = HeldBecause.DEPARTURE_UNKNOWN  # the one other way _decide says needs_review
    return StayDetermination(
        arrival_event_id=arrival.event_id,
        person_id=person_id,
        status=status,
        authorized_until=None if stay.open_ended else stay.until,
        overstay_days=overstay_days,
        admission_class=stay.admission_class,
        closing_event_id=closer.event_id if closer is not None else None,
        closed_by=ClosedBy.of(closer),
        pending=bool(stay.pending_by),
        rule_pack=RULE_PACK,
        rule_version=RULE_VERSION,
        steps=tuple(stay.steps),
        evidence=_evidence(used, probabilities),
        uncertain_links=uncertain_links,
        held_because=held,
    )


def _split_windows(ordered: list[Event]) -> list[list[Event]]:
    """One window per arrival: the arrival, then the events up to the next arrival.

    Events before the first arrival belong to no stay and are dropped. A status change whose
    admission_ref names another of the person's arrivals moves to that stay if that stay's window
    (from its arrival date to the next arrival date, both inclusive) contains the change's date; in
    practice that is a change dated on the day of a later arrival. Otherwise it stays in the window
    its date falls in.
    """
    windows: list[list[Event]] = []
    arrival_index: dict[str, int] = {}
    moved: list[tuple[int, int, Event]] = []
    for event in ordered:
        if event.kind == "arrival":
            arrival_index[event.event_id] = len(windows)
            windows.append([event])
        elif windows:
            ref = event.admission_ref
            if ref is not None and event.kind == "status_change":
                target = arrival_index.get(ref, len(windows) - 1)
                if target != len(windows) - 1:
                    moved.append((len(windows) - 1, target, event))
                    continue
            windows[-1].append(event)
    for current, target, event in moved:
        start = windows[target][0].occurred_on
        end = windows[target + 1][0].occurred_on if target + 1 < len(windows) else date.max
        if start <= event.occurred_on <= end:
            windows[target].append(event)
            windows[target].sort(key=event_order_key)
        else:
            windows[current].append(event)
            windows[current].sort(key=event_order_key)
    return windows


def determine_person_stays(
    person_id: str,
    events: Sequence[Event],
    as_of: date,
    *,
    link_probabilities: Mapping[str, float] | None = None,
    uncertain_event_ids: frozenset[str] = frozenset(),
) -> list[StayDetermination]:
    """Determine every stay of one person as of a date: one determination per arrival on or before it.

    ``uncertain_event_ids`` are events joined to this person only by an unreviewed grey-zone identity
    link; a stay whose status rests on one of them is ``needs_review``. ``link_probabilities`` (event id
    to match probability) is copied into the evidence.
    """
    ordered = sorted((e for e in events if e.occurred_on <= as_of), key=event_order_key)
    if uncertain_event_ids and uncertain_event_ids.isdisjoint([e.event_id for e in ordered]):
        uncertain_event_ids = frozenset()  # none of this person's: no stay of theirs rests on one
    windows = _split_windows(ordered)
    last = len(windows) - 1
    return [
        _determine_stay(
            person_id,
            window,
            windows[i + 1][0] if i < last else None,
            as_of,
            link_probabilities,
            uncertain_event_ids,
        )
        for i, window in enumerate(windows)
    ]
