"""What travellers truly do: trips, admissions, departures, extensions, changes of status.

Pure (standard library only). ``TravelPlanner.plan`` returns the steps that some source records, in
date order, cut at ``as_of``: an arrival for each admission, departures written by carriers or
reported by travellers, and status changes from adjudication. What happened but went unrecorded
(a land departure, a departure the carrier missed) leaves no step, only a tag — that gap is what the
stay rules and the ground truth must live with.
"""

from __future__ import annotations

import calendar
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from stayledger.synth.nationalities import (
    AIR_PORTS,
    CRUISE_LINES,
    HUB_AIRLINES,
    NATIONAL_AIRLINES,
    NORTHERN_LAND_PORTS,
    SEA_PORTS,
    SOUTHERN_LAND_PORTS,
    US_AIRLINES,
    VISA_WAIVER,
)

# --- who comes for what (shares by nationality category: vwp, can, mex, other) ----------------
ARCHETYPE_SHARES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "vwp": (("visitor", 0.88), ("student", 0.05), ("worker", 0.07)),
    "can": (("visitor", 0.88), ("student", 0.04), ("worker", 0.08)),
    "mex": (("visitor", 0.90), ("student", 0.05), ("worker", 0.05)),
    "other": (("visitor", 0.84), ("student", 0.09), ("worker", 0.07)),
}
VISITOR_CLASSES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "vwp": (("WT", 0.80), ("WB", 0.14), ("B2", 0.04), ("B1", 0.02)),
    "can": (("B2", 0.85), ("B1", 0.15)),
    "mex": (("B2", 0.80), ("B1", 0.20)),
    "other": (("B2", 0.75), ("B1", 0.25)),
}
STUDENT_CLASSES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "vwp": (("F1", 0.70), ("J1", 0.25), ("M1", 0.05)),
    "can": (("F1", 0.90), ("J1", 0.10)),
    "mex": (("F1", 0.80), ("J1", 0.20)),
    "other": (("F1", 0.75), ("J1", 0.20), ("M1", 0.05)),
}
WORKER_CLASSES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "vwp": (("H1B", 0.45), ("L1", 0.25), ("O1", 0.10), ("E2", 0.20)),
    "can": (("TN", 0.70), ("L1", 0.15), ("H1B", 0.15)),
    "mex": (("TN", 0.50), ("H1B", 0.30), ("L1", 0.20)),
    "other": (("H1B", 0.60), ("L1", 0.25), ("O1", 0.10), ("E2", 0.05)),
}
# Trips in the window for a visitor: most come once or twice, frequent travellers up to ten times.
VISITOR_TRIPS: Final = ((1, 0.55), (2, 0.20), (3, 0.09), (4, 0.06), (5, 0.03), (6, 0.025), (7, 0.02),
                        (8, 0.01), (9, 0.01), (10, 0.005))
CROSS_BORDER_TRIPS: Final = ((1, 0.40), (2, 0.20), (3, 0.10), (4, 0.08), (5, 0.06), (6, 0.05), (7, 0.04),
                             (8, 0.03), (9, 0.02), (10, 0.02))  # Canadians and Mexicans
WINDOW_DAYS: Final = 1187  # about 3.25 years of history before as_of

# --- how they travel ------------------------------------------------------------------------
LAND_ARRIVAL_SHARE: Final[dict[str, float]] = {"can": 0.30, "mex": 0.35}
SEA_ARRIVAL_SHARE: Final = 0.03
LAND_DEPARTURE_AFTER_AIR_ARRIVAL: Final[dict[str, float]] = {"can": 0.02, "mex": 0.02, "vwp": 0.005, "other": 0.005}
ID_CARD_AT_LAND_RATE: Final = 0.5  # card holders who show the card, not the passport, at a land port
CANADIAN_WINTER_STAY_RATE: Final = 0.10  # Canadian visitors by air staying 4-6 months

# --- what gets recorded ---------------------------------------------------------------------
MISSING_CARRIER_DEPARTURE_RATE: Final = 0.003  # an air/sea departure the carrier never transmitted
LAND_DEPARTURE_REPORT_RATE: Final = 0.15  # a land departure the traveller reports (CBP Home style)

# --- behaviour (by overstay group, as in the DHS Entry/Exit Overstay Report) ---------------------
IN_COUNTRY_OVERSTAY_RATES: Final[dict[str, float]] = {
    "vwp": 0.0015, "other_b": 0.017, "can_mex": 0.006, "students": 0.018, "workers": 0.005,
}
LATE_DEPARTURE_RATES: Final[dict[str, float]] = {
    "vwp": 0.0006, "other_b": 0.0011, "can_mex": 0.001, "students": 0.006, "workers": 0.002,
}
EXTENSION_FILING_RATE: Final = 0.01  # B-1/B-2 stays with an extension application
EXTENSION_TIMELY_SHARE: Final = 0.85
EXTENSION_OUTCOMES_TIMELY: Final = (("granted", 0.60), ("denied", 0.30), ("undecided", 0.10))
EXTENSION_OUTCOMES_UNTIMELY: Final = (("granted", 0.20), ("denied", 0.70), ("undecided", 0.10))
CHANGE_B_TO_F_RATE: Final = 0.003  # B-2 visitors (non-VWP) who change status to student
STUDENT_TO_H1B_RATE: Final = 0.15  # F-1 students who change status to H-1B at the end of the programme
WORKER_ADJUSTMENT_RATE: Final = 0.12  # work-class stays that end in adjustment to permanent residence
WORKER_EXTENSION_RATE: Final = 0.45  # work-class stays extended at the end of the petition
WORKER_EXTENSION_DENIAL_RATE: Final = 0.05
HOME_VISITS_PER_YEAR: Final = 0.8  # students and workers leaving and re-entering during a long stay
ARCHETYPE_AGES: Final[dict[str, tuple[int, int]]] = {"student": (17, 34), "worker": (23, 60)}  # age at window start
GRACE_DAYS: Final[dict[str, int]] = {"F1": 60, "J1": 30, "M1": 30}

RECORDED_KINDS: Final = ("arrival", "departure", "departure_report", "status_change")


@dataclass(slots=True)
class Step:
    """One recorded happening, without the identity fields (the writer adds those per person)."""

    kind: str
    on: date
    source: str
    port: str | None = None
    mode: str | None = None
    carrier: str | None = None
    admission_class: str | None = None
    admitted_until: date | None = None
    duration_of_status: bool = False
    change: str | None = None
    new_class: str | None = None
    new_until: date | None = None
    stay: int = -1  # index (in the plan) of the arrival this step belongs to
    with_id_card: bool = False


@dataclass(slots=True)
class Plan:
    """The recorded steps of one traveller (or household) and tags for what happened unrecorded."""

    steps: list[Step] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    archetype: str = "visitor"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the last day of the month when that day does not exist)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def category(nationality: str) -> str:
    """The nationality category that sets classes and behaviour: vwp, can, mex or other."""
    if nationality == "CAN":
        return "can"
    if nationality == "MEX":
        return "mex"
    return "vwp" if nationality in VISA_WAIVER else "other"


def _pick(rng: random.Random, choices: tuple[tuple[object, float], ...]) -> object:
    roll = rng.random() * sum(weight for _, weight in choices)
    for item, weight in choices:
        roll -= weight
        if roll < 0:
            return item
    return choices[-1][0]


class TravelPlanner:
    """Plans travel histories between ``as_of - WINDOW_DAYS`` and ``as_of``."""

    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.window_start = as_of - timedelta(days=WINDOW_DAYS)

    # --- building blocks -------------------------------------------------------------------

    def _add(self, plan: Plan, step: Step) -> int:
        """Record a step if it happened by as_of; return its index (or -1)."""
        if step.on > self.as_of:
            return -1
        plan.steps.append(step)
        return len(plan.steps) - 1

    def _carrier(self, nationality: str, mode: str) -> str:
        rng = self.rng
        if mode == "sea":
            return rng.choice(CRUISE_LINES)
        roll = rng.random()
        national = NATIONAL_AIRLINES.get(nationality)
        if national and roll < 0.45:
            return rng.choice(national)
        if roll < 0.9:
            return rng.choice(US_AIRLINES)
        return rng.choice(HUB_AIRLINES)

    def _port(self, mode: str, nationality: str) -> str:
        if mode == "air":
            return self.rng.choice(AIR_PORTS)
        if mode == "sea":
            return self.rng.choice(SEA_PORTS)
        return self.rng.choice(SOUTHERN_LAND_PORTS if nationality == "MEX" else NORTHERN_LAND_PORTS)

    def _arrive(self, plan: Plan, on: date, nationality: str, mode: str, cls: str, until: date | None,
                *, has_id_card: bool = False) -> int:
        carrier = self._carrier(nationality, mode) if mode != "land" else None
        step = Step("arrival", on, "border", port=self._port(mode, nationality), mode=mode, carrier=carrier,
                    admission_class=cls, admitted_until=until, duration_of_status=until is None)
        step.with_id_card = mode == "land" and has_id_card and self.rng.random() < ID_CARD_AT_LAND_RATE
        index = self._add(plan, step)
        step.stay = index
        return index

    def _leave(self, plan: Plan, on: date, nationality: str, arrival_mode: str, stay: int) -> None:
        """The traveller leaves on ``on``; record it the way the exit mode allows."""
        rng = self.rng
        if arrival_mode == "land":
            mode = "land" if rng.random() < 0.95 else "air"
        elif arrival_mode == "sea":
            mode = "sea" if rng.random() < 0.8 else "air"
        else:
            mode = "land" if rng.random() < LAND_DEPARTURE_AFTER_AIR_ARRIVAL[category(nationality)] else "air"
        if on > self.as_of:
            return
        if mode == "land":
            if rng.random() < LAND_DEPARTURE_REPORT_RATE:
                self._add(plan, Step("departure_report", on, "traveller", mode="land", stay=stay,
                                     port=self._port("land", nationality)))
            else:
                plan.tags.append("unrecorded_land_departure")
            return
        if rng.random() < MISSING_CARRIER_DEPARTURE_RATE:
            plan.tags.append("departure_missed_by_carrier")
            return
        self._add(plan, Step("departure", on, "carrier", port=self._port(mode, nationality), mode=mode,
                             carrier=self._carrier(nationality, mode), stay=stay))

    def _change(self, plan: Plan, on: date, change: str, stay: int, *, new_class: str | None = None,
                new_until: date | None = None) -> None:
        self._add(plan, Step("status_change", on, "adjudication", change=change, new_class=new_class,
                             new_until=new_until, stay=stay))

    def _late_days(self) -> int:
        roll = self.rng.random()
        if roll < 0.6:
            return self.rng.randint(1, 30)
        if roll < 0.9:
            return self.rng.randint(31, 180)
        return self.rng.randint(181, 365)

    def _roll_departure(self, group: str) -> str:
        """Overstay (stays on), late (leaves after the stay ended) or on time, by overstay group."""
        roll = self.rng.random()
        if roll < IN_COUNTRY_OVERSTAY_RATES[group]:
            return "overstay"
        if roll < IN_COUNTRY_OVERSTAY_RATES[group] + LATE_DEPARTURE_RATES[group]:
            return "late"
        return "on_time"

    def _random_day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def _visits(self, start: date, end: date) -> list[tuple[date, date]]:
        """Home visits (leave, return) inside a long stay, apart from each other and from its ends."""
        years = (end - start).days / 365.0
        count = int(years * HOME_VISITS_PER_YEAR + self.rng.random())
        if count == 0 or (end - start).days < 120:
            return []
        starts = sorted(self._random_day(start, end) for _ in range(count))
        visits: list[tuple[date, date]] = []
        for leave in starts:
            back = leave + timedelta(days=self.rng.randint(14, 60))
            if back >= end or (visits and leave <= visits[-1][1] + timedelta(days=30)):
                continue
            visits.append((leave, back))
        return visits

    # --- histories ---------------------------------------------------------------------------

    def archetype(self, nationality: str) -> str:
        """Why a single traveller comes: visitor, student or worker."""
        return str(_pick(self.rng, ARCHETYPE_SHARES[category(nationality)]))

    def plan(self, nationality: str, archetype: str, *, has_id_card: bool = False) -> Plan:
        """The recorded history of one traveller (or of a household travelling together)."""
        cat = category(nationality)
        plan = Plan(archetype=archetype)
        if archetype == "student":
            self._student(plan, nationality, str(_pick(self.rng, STUDENT_CLASSES[cat])))
        elif archetype == "worker":
            self._worker(plan, nationality, str(_pick(self.rng, WORKER_CLASSES[cat])))
        else:
            self._visitor(plan, nationality, has_id_card)
        return plan

    def _visitor(self, plan: Plan, nationality: str, has_id_card: bool) -> None:
        rng = self.rng
        cat = category(nationality)
        trips = int(_pick(rng, CROSS_BORDER_TRIPS if cat in ("can", "mex") else VISITOR_TRIPS))  # type: ignore[arg-type]
        planned = sorted(rng.randint(0, WINDOW_DAYS) for _ in range(trips))
        previous_end: date | None = None
        for offset in planned:
            arrival = self.window_start + timedelta(days=offset)
            if previous_end is not None:
                arrival = max(arrival, previous_end + timedelta(days=rng.randint(2, 20)))
            if arrival > self.as_of:
                return
            end = self._visit(plan, nationality, arrival, has_id_card)
            if end is None or end > self.as_of:
                return
            previous_end = end

    def _visit(self, plan: Plan, nationality: str, arrival: date, has_id_card: bool) -> date | None:
        """One visit; returns the true departure date, or None if the visitor stays on."""
        rng = self.rng
        cat = category(nationality)
        roll = rng.random()
        if roll < LAND_ARRIVAL_SHARE.get(cat, 0.0):
            mode = "land"
        elif roll < LAND_ARRIVAL_SHARE.get(cat, 0.0) + SEA_ARRIVAL_SHARE:
            mode = "sea"
        else:
            mode = "air"
        cls = str(_pick(rng, VISITOR_CLASSES[cat]))
        if cls in ("WT", "WB"):
            until = arrival + timedelta(days=89)
            group, median, sigma = "vwp", 10.0, 0.8
        else:
            if cat == "mex" and mode == "land":
                until = arrival + timedelta(days=29)  # border-zone visitors get 30 days
            elif cls == "B1" and rng.random() < 0.4:
                until = add_months(arrival, rng.randint(1, 3)) - timedelta(days=1)
            else:
                until = add_months(arrival, 6) - timedelta(days=1)
            group = "can_mex" if cat in ("can", "mex") else "other_b"
            median, sigma = (7.0, 0.7) if cls == "B1" else (16.0, 0.9)
            if mode == "land":
                median, sigma = 3.0, 1.0
        stay = self._arrive(plan, arrival, nationality, mode, cls, until, has_id_card=has_id_card)
        outcome = self._roll_departure(group)
        if outcome == "overstay":
            plan.tags.append("overstayed")
            return None
        if outcome == "late":
            plan.tags.append("departed_late")
            departure = until + timedelta(days=self._late_days())
            self._leave(plan, departure, nationality, mode, stay)
            return departure
        if cls in ("B1", "B2") and rng.random() < EXTENSION_FILING_RATE:
            return self._visitor_extension(plan, nationality, mode, stay, arrival, until)
        if cls == "B2" and cat != "vwp" and rng.random() < CHANGE_B_TO_F_RATE:
            return self._change_to_student(plan, nationality, mode, stay, arrival, until)
        if cat == "can" and mode == "air" and rng.random() < CANADIAN_WINTER_STAY_RATE:
            length = rng.randint(120, 178)
        else:
            length = int(rng.lognormvariate(math.log(median), sigma))
        departure = min(arrival + timedelta(days=length), until)
        self._leave(plan, departure, nationality, mode, stay)
        return departure

    def _visitor_extension(self, plan: Plan, nationality: str, mode: str, stay: int, arrival: date,
                           until: date) -> date | None:
        rng = self.rng
        timely = rng.random() < EXTENSION_TIMELY_SHARE
        if timely:
            filed = max(arrival + timedelta(days=1), until - timedelta(days=rng.randint(3, 40)))
        else:
            filed = until + timedelta(days=rng.randint(1, 60))
        plan.tags.append("extension_timely" if timely else "extension_untimely")
        self._change(plan, filed, "extension_filed", stay)
        decided = filed + timedelta(days=rng.randint(30, 150))
        outcome = _pick(rng, EXTENSION_OUTCOMES_TIMELY if timely else EXTENSION_OUTCOMES_UNTIMELY)
        if outcome == "undecided":
            return None  # waits in the country for a decision that has not come by as_of
        if outcome == "granted":
            new_until = add_months(until, 6)
            self._change(plan, decided, "extension_granted", stay, new_until=new_until)
            departure = self._random_day(decided + timedelta(days=1), max(decided + timedelta(days=1), new_until))
        else:
            self._change(plan, decided, "extension_denied", stay)
            departure = decided + timedelta(days=rng.randint(3, 45))
        self._leave(plan, departure, nationality, mode, stay)
        return departure

    def _change_to_student(self, plan: Plan, nationality: str, mode: str, stay: int, arrival: date,
                           until: date) -> date | None:
        rng = self.rng
        changed = max(arrival + timedelta(days=20), until - timedelta(days=rng.randint(5, 60)))
        new_until = changed + timedelta(days=rng.randint(365, 3 * 365))
        plan.tags.append("changed_status")
        self._change(plan, changed, "status_changed", stay, new_class="F1", new_until=new_until)
        outcome = self._roll_departure("students")
        if outcome == "overstay":
            plan.tags.append("overstayed")
            return None
        if outcome == "late":
            plan.tags.append("departed_late")
            departure = new_until + timedelta(days=self._late_days())
        else:
            departure = new_until - timedelta(days=rng.randint(0, 60))
        self._leave(plan, departure, nationality, "air", stay)
        return departure

    def _programme_start(self) -> date:
        """Students mostly start in August or January."""
        rng = self.rng
        day = self.window_start + timedelta(days=rng.randint(0, WINDOW_DAYS))
        roll = rng.random()
        if roll < 0.6:
            day = date(day.year, 8, rng.randint(10, 31))
        elif roll < 0.85:
            day = date(day.year, 1, rng.randint(5, 20))
        if day < self.window_start:
            day = date(day.year + 1, day.month, day.day)
        return day if day <= self.as_of else self.window_start + timedelta(days=rng.randint(0, WINDOW_DAYS))

    def _long_stay(self, plan: Plan, nationality: str, start: date, end: date, cls: str,
                   until: date | None) -> tuple[int, date]:
        """Arrival and home visits of a long stay; returns the last arrival's index and date."""
        stay = self._arrive(plan, start, nationality, "air", cls, until)
        last = start
        for leave, back in self._visits(start + timedelta(days=60), end):
            self._leave(plan, leave, nationality, "air", stay)
            stay = self._arrive(plan, back, nationality, "air", cls, until)
            last = back
        return stay, last

    def _student(self, plan: Plan, nationality: str, cls: str) -> None:
        rng = self.rng
        start = self._programme_start()
        if cls == "F1":
            length = rng.choice((365, 730, 730, 730, 1095, 1460)) - rng.randint(0, 30)
        elif cls == "J1":
            length = rng.randint(90, 730)
        else:
            length = rng.randint(180, 540)
        programme_end = start + timedelta(days=length)
        stay, last_arrival = self._long_stay(plan, nationality, start, programme_end - timedelta(days=120), cls, None)
        if cls == "F1" and rng.random() < STUDENT_TO_H1B_RATE:
            changed = max(last_arrival + timedelta(days=1), programme_end - timedelta(days=rng.randint(0, 90)))
            new_until = changed + timedelta(days=3 * 365)
            plan.tags.append("changed_status")
            self._change(plan, changed, "status_changed", stay, new_class="H1B", new_until=new_until)
            self._work_end(plan, nationality, stay, changed, new_until, extensions_left=1)
            return
        self._change(plan, programme_end, "program_ended", stay)
        grace = GRACE_DAYS[cls]
        outcome = self._roll_departure("students")
        if outcome == "overstay":
            plan.tags.append("overstayed")
            return
        if outcome == "late":
            plan.tags.append("departed_late")
            departure = programme_end + timedelta(days=grace + self._late_days())
        else:
            departure = programme_end + timedelta(days=rng.randint(0, grace))
        self._leave(plan, departure, nationality, "air", stay)

    def _worker(self, plan: Plan, nationality: str, cls: str) -> None:
        rng = self.rng
        start = self.window_start + timedelta(days=rng.randint(0, WINDOW_DAYS))
        if cls == "TN":
            until = start + timedelta(days=3 * 365 - 1)
        elif cls == "E2":
            until = start + timedelta(days=2 * 365 - 1)
        else:
            until = start + timedelta(days=rng.randint(365, 3 * 365))
        stay, last_arrival = self._long_stay(plan, nationality, start, until - timedelta(days=180), cls, until)
        self._work_end(plan, nationality, stay, last_arrival, until, extensions_left=2)

    def _work_end(self, plan: Plan, nationality: str, stay: int, not_before: date, until: date,
                  extensions_left: int) -> None:
        """The end of a work authorisation: adjustment, extension, or departure."""
        rng = self.rng
        roll = rng.random()
        earliest = not_before + timedelta(days=1)
        if roll < WORKER_ADJUSTMENT_RATE:
            plan.tags.append("adjusted")
            self._change(plan, self._random_day(earliest, max(earliest, until)), "adjusted_to_permanent", stay)
            return
        if roll < WORKER_ADJUSTMENT_RATE + WORKER_EXTENSION_RATE and extensions_left > 0:
            filed = max(earliest, until - timedelta(days=rng.randint(30, 150)))
            self._change(plan, filed, "extension_filed", stay)
            decided = filed + timedelta(days=rng.randint(30, 240))
            if rng.random() < WORKER_EXTENSION_DENIAL_RATE:
                self._change(plan, decided, "extension_denied", stay)
                self._leave(plan, max(decided, until) + timedelta(days=rng.randint(0, 14)), nationality, "air", stay)
                return
            new_until = until + timedelta(days=3 * 365)
            self._change(plan, decided, "extension_granted", stay, new_until=new_until)
            self._work_end(plan, nationality, stay, decided, new_until, extensions_left - 1)
            return
        outcome = self._roll_departure("workers")
        if outcome == "overstay":
            plan.tags.append("overstayed")
            return
        if outcome == "late":
            plan.tags.append("departed_late")
            self._leave(plan, until + timedelta(days=self._late_days()), nationality, "air", stay)
            return
        departure = max(earliest, until - timedelta(days=rng.randint(0, 90)))
        self._leave(plan, departure, nationality, "air", stay)
