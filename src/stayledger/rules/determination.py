"""One person's stays: the rule pack on the events in effect, then the holds that keep an uncertain overstay from
being called one (an unreviewed link to a possible departure, a traveller's open correction request).

Pure core: standard library only. Both ways of determining stays call ``determine_person``: in this process
(``usecases/stays.py``) and on Spark (``spark/stays_job.py``), so there is one copy of the rules.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Mapping

from stayledger.domain.corrections import effective_events
from stayledger.domain.events import Event
from stayledger.domain.stays import EvidenceEvent, HeldBecause, Status, StayDetermination
from stayledger.rules import RulePack


@dataclasses.dataclass(frozen=True)
class UnsettledLinks:
    """What the open review queue and the open correction cases leave uncertain."""

    within_person: frozenset[str]  # events joined to their person only through an unreviewed grey link
    # person -> (exit event of a person the queue asks about, probability of the strongest open link between them)
    exits_elsewhere: dict[str, list[tuple[str, float]]]
    disputed: frozenset[str] = frozenset()  # events a traveller has asked to correct (case open)


def hold_for_dispute(stay: StayDetermination, disputed: frozenset[str]) -> StayDetermination:
    """While a traveller's correction request about a record of the stay is open, it is not called an overstay."""
    involved = {stay.arrival_event_id, *(e.event_id for e in stay.evidence)} & disputed
    if stay.status is not Status.OVERSTAY or not involved:
        return stay
    step = f"the traveller disputes {', '.join(sorted(involved))} (correction case open) → needs_review instead of overstay"
    return dataclasses.replace(stay, status=Status.NEEDS_REVIEW, overstay_days=0, steps=stay.steps + (step,),
                               held_because=HeldBecause.DISPUTED)


def hold_for_review(
    stay: StayDetermination, candidates: list[tuple[str, float]], events_by_id: Mapping[str, Event], arrival_on: date
) -> StayDetermination:
    """An overstay with a possible (unreviewed) departure of 'another person' after the arrival needs review."""
    if stay.status is not Status.OVERSTAY:
        return stay
    later = [(eid, p) for eid, p in candidates if eid in events_by_id and events_by_id[eid].occurred_on >= arrival_on]
    if not later:
        return stay
    later.sort(key=lambda item: -item[1])
    steps = stay.steps + tuple(
        f"possible departure {eid} on {events_by_id[eid].occurred_on}: whether its traveller is this one awaits clerical "
        f"review (strongest link {p:.2f}) → needs_review instead of overstay"
        for eid, p in later
    )
    evidence = stay.evidence + tuple(
        EvidenceEvent(eid, events_by_id[eid].kind, events_by_id[eid].source, events_by_id[eid].occurred_on, p) for eid, p in later
    )
    return dataclasses.replace(
        stay,
        status=Status.NEEDS_REVIEW,
        overstay_days=0,
        steps=steps,
        evidence=evidence,
        uncertain_links=stay.uncertain_links + tuple(eid for eid, _ in later),
        held_because=HeldBecause.IDENTITY_LINK,
    )


def determine_person(
    rules: RulePack,
    person_id: str,
    events: list[Event],
    as_of: date,
    *,
    probabilities: Mapping[str, float],
    unsettled: UnsettledLinks,
    events_by_id: Mapping[str, Event],
) -> list[StayDetermination]:
    """One person's stays: the rule pack on the events in effect, then the hold for unreviewed departures.

    ``events_by_id`` must hold the person's events and the exit events named in ``unsettled`` for them.
    """
    stays = rules.determine_person_stays(
        person_id,
        effective_events(events),
        as_of,
        link_probabilities=probabilities,
        uncertain_event_ids=unsettled.within_person,
    )
    if unsettled.disputed and not unsettled.disputed.isdisjoint([e.event_id for e in events]):
        stays = [hold_for_dispute(s, unsettled.disputed) for s in stays]  # a stay rests on the person's events only
    candidates = unsettled.exits_elsewhere.get(person_id)
    if not candidates:
        return stays
    return [hold_for_review(s, candidates, events_by_id, events_by_id[s.arrival_event_id].occurred_on) for s in stays]
