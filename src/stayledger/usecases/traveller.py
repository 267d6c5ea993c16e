"""Use cases: a traveller checks their own stay, reports their departure, follows the receipt, and sees who looked.

No account: the traveller is identified by document number, issuer, date of birth and surname, compared exactly
after folding what honest people get wrong (O/0 and I/1 in numbers, case, accents, spacing) — never through the
fuzzy linker, which could show someone else's record. Only records of that document count; a record joined to
it by a probabilistic link alone is shown once a reviewer has confirmed the link. A miss, a wrong birth date and
a wrong surname give the same answer. Audit entries name the person found, never the identity typed.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stayledger.domain.access import AccessContext, Action
from stayledger.domain.events import Event, parse_event
from stayledger.domain.stays import Status, StayDetermination
from stayledger.errors import NotFound
from stayledger.identity.normalise import normalise_name, ocr_canonical
from stayledger.storage.base import EventStore, make_batch
from stayledger.usecases.accountability import operation
from stayledger.usecases.audit import Signer

RECEIPT_PREFIX = "TRV-"
CONFIRMING_DAYS = 2  # a carrier's exit record this close to the reported day confirms the report


@dataclass(frozen=True)
class TravellerIdentity:
    document_number: str
    document_issuer: str
    date_of_birth: str
    surname: str

    def holds(self, event: Event) -> bool:
        """Is this event a record of this traveller's document (and of them)?"""
        issuer = event.document_issuer or event.nationality
        return (
            event.document_number is not None
            and ocr_canonical(event.document_number) == ocr_canonical(self.document_number)
            and issuer == self.document_issuer.strip().upper()
            and event.date_of_birth == self.date_of_birth.strip()
            and bool(_name_keys(event.surname) & _name_keys(self.surname))
        )


def _name_keys(name: str) -> set[str]:
    """Müller, MUELLER and Muller alike: the ICAO transliteration and the plain accent-stripped spelling."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name.upper()) if not unicodedata.combining(c))
    return {k.replace(" ", "") for k in (normalise_name(name), normalise_name(plain)) if k}


@dataclass(frozen=True)
class StayAnswer:
    arrived_on: str
    status: str
    authorized_until: str | None
    days_remaining: int | None
    overstay_days: int
    rule_pack: str


def _own_events(
    store: EventStore, identity: TravellerIdentity, stays_as_of: date | None = None, pack: str = "us"
) -> tuple[str | None, list[Event], list[StayDetermination]]:
    """The person holding records of this document, the events a traveller may see as theirs and, with
    ``stays_as_of``, that person's official stays (read with the same records: one lookup, not two)."""
    held = [(e, assignment) for e, assignment in store.document_records(ocr_canonical(identity.document_number),
                                                                         identity.date_of_birth.strip())
            if identity.holds(e)]
    own = [e for e, _ in held]
    if not own:
        return None, [], []
    persons = {assignment.person_id for _, assignment in held if assignment is not None}
    if len(persons) != 1:
        return None, own, []  # not resolved yet, or split: answer from the document's own records only
    person = persons.pop()
    records = store.persons_events([person])[person]
    own_ids = {e.event_id for e in own}
    # The open items and disputed records hold the stays; an accepted item shows a record linked by a reviewer.
    items, disputed = store.review_and_cases_touching([e.event_id for e, _ in records], ("open", "accepted"))
    stays: list[StayDetermination] = []
    if stays_as_of is not None:
        from stayledger.usecases.lookup import stays_of_records

        records, stays = stays_of_records(store, {person: records}, stays_as_of, pack, (items, disputed))[person]
    confirmed = {frozenset((i.event_id_l, i.event_id_r)) for i in items
                 if i.status == "accepted" and (i.event_id_l in own_ids or i.event_id_r in own_ids)}
    shown = list(own)
    for other, probability in records:
        if other.event_id in own_ids:
            continue
        by_key = probability is None or probability >= 1.0
        reviewed = any(frozenset((other.event_id, o)) in confirmed for o in own_ids)
        same_document = other.document_number is not None and ocr_canonical(other.document_number) == ocr_canonical(identity.document_number)
        if reviewed or (by_key and same_document) or other.corrects in own_ids or other.admission_ref in own_ids:
            shown.append(other)
    return person, sorted(shown, key=lambda e: (e.occurred_on, e.event_id)), stays


@dataclass(frozen=True)
class SchengenWindow:
    """The 90/180 rule as of today: days of presence in the 180 days ending today, and how long one may stay."""

    days_used: int
    days_remaining: int  # from today, present continuously, both days included; 0 when already over
    latest_exit: str | None
    overstay_days: int


def check_stay(store: EventStore, ctx: AccessContext, identity: TravellerIdentity, today: date,
               pack: str = "us") -> tuple[bool, list[StayAnswer], SchengenWindow | None]:
    """(found, stays, the Schengen window under the Schengen pack) for the traveller's own records, as of ``today``."""
    from stayledger.domain.corrections import effective_events
    from stayledger.rules import get_pack

    with operation(store, ctx, Action.TRAVELLER_STATUS) as op:
        person, events, official_stays = _own_events(store, identity, today, pack)
        op.note(person_id=person, found=bool(events))
        if not events:
            return False, [], None
        stays = get_pack(pack).determine_person_stays(person or "self", effective_events(events), today)
        official = {s.arrival_event_id: s.status for s in official_stays}
        answers = []
        for stay in stays:
            if stay.status is Status.OVERSTAY and official.get(stay.arrival_event_id, Status.OVERSTAY) is not Status.OVERSTAY:
                # The ledger holds a record (linked to another document, or uncertain) that this view may not
                # show: never tell a traveller "overstay" when the officers' view says otherwise.
                stay = dataclasses.replace(stay, status=Status.NEEDS_REVIEW, overstay_days=0)
            answers.append(_answer(stay, {e.event_id: e for e in events}, today))
        return True, answers, _schengen_window(stays, {e.event_id: e for e in events}, today) if pack == "schengen" else None


def _schengen_window(stays: list[StayDetermination], events: dict[str, Event], today: date) -> SchengenWindow:
    from stayledger.rules.schengen import counts_under_short_stay_rule, schengen_calc

    periods = []
    for stay in stays:
        if not counts_under_short_stay_rule(stay.admission_class):
            continue
        start = events[stay.arrival_event_id].occurred_on
        departure = events.get(stay.closing_event_id) if stay.closing_event_id else None
        periods.append((start, min(departure.occurred_on, today) if departure else today))
    result = schengen_calc(periods, today)
    return SchengenWindow(result.days_used, result.max_stay_days,
                          result.latest_exit.isoformat() if result.latest_exit else None, result.overstay_days)


def _answer(stay: StayDetermination, events: dict[str, Event], today: date) -> StayAnswer:
    remaining = None
    if stay.status is Status.IN_STATUS and stay.authorized_until is not None:
        remaining = (stay.authorized_until - today).days
    return StayAnswer(events[stay.arrival_event_id].occurred_on.isoformat(), stay.status.value,
                      stay.authorized_until.isoformat() if stay.authorized_until else None, remaining,
                      stay.overstay_days, f"{stay.rule_pack} {stay.rule_version}")


def report_departure(
    store: EventStore, ctx: AccessContext, identity: TravellerIdentity, departed_on: date, signer: Signer, *,
    port: str | None = None, carrier: str | None = None,
) -> dict[str, Any]:
    """Record the traveller's own report of leaving (a ``departure_report`` event) and return a signed receipt.

    The answer is the same whether or not the ledger knew the traveller: the report is kept and linked as any
    record is, and a carrier's exit record later confirms it.
    """
    from stayledger.usecases.resolve import ensure_resolved

    with operation(store, ctx, Action.TRAVELLER_DEPARTURE) as op:
        receipt_id = secrets.token_hex(8).upper()
        record = {"event_id": f"{RECEIPT_PREFIX}{receipt_id}", "kind": "departure_report", "source": "traveller",
                  "occurred_on": departed_on.isoformat(), "surname": identity.surname,
                  "date_of_birth": identity.date_of_birth, "nationality": identity.document_issuer,
                  "document_number": identity.document_number, "document_issuer": identity.document_issuer}
        record.update({k: v for k, v in (("port", port), ("carrier", carrier)) if v})
        event = parse_event(record)  # InvalidRecord names the field to fix
        store.append_events(make_batch([event], ["traveller"], ["report"], [""]), [])
        ensure_resolved(store)
        reported_at = store.clock().isoformat(timespec="seconds")
        body = {"receipt_id": receipt_id, "departed_on": departed_on.isoformat(), "reported_at": reported_at}
        signature = signer.private_key.sign(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
        op.note(event_ids=[event.event_id])
        return {**body, "signature": base64.b64encode(signature).decode(), "key": signer.name}


def receipt_status(store: EventStore, ctx: AccessContext, receipt_id: str) -> dict[str, str]:
    """``reported``, or ``confirmed`` once a carrier's exit record near that day is linked to the same person."""
    with operation(store, ctx, Action.TRAVELLER_RECEIPT, receipt=receipt_id) as op:
        found = store.events_by_id([f"{RECEIPT_PREFIX}{receipt_id}"])
        if not found:
            raise NotFound(f"no receipt {receipt_id!r}")
        report = found[0]
        assignments = store.identity_assignments()
        person = assignments.get(report.event_id)
        status = "reported"
        if person is not None:
            window = timedelta(days=CONFIRMING_DAYS)
            for other in store.events_by_id(store.person_event_ids(person.person_id)):
                if other.kind == "departure" and abs(other.occurred_on - report.occurred_on) <= window:
                    status = "confirmed"
                    op.note(confirmed_by=other.event_id)
        return {"receipt_id": receipt_id, "status": status}


def who_looked(store: EventStore, ctx: AccessContext, identity: TravellerIdentity) -> list[dict[str, Any]]:
    """Every recorded access to the traveller's records: when, by which role, what for (not the officer's name)."""
    from stayledger.audit.log import parse_entry

    with operation(store, ctx, Action.TRAVELLER_ACCESS_LOG) as op:
        person, events, _ = _own_events(store, identity)
        if not events:
            op.note(found=False)
            return []
        ids = {e.event_id for e in events} | ({person} if person else set())
        seen: list[dict[str, Any]] = []
        # Through the subject index: a scan of the whole log took the longer the longer the log, and only for a
        # record found (a miss answers before it), so its time told a guesser that the details were right.
        for _, text in store.audit_entries_about(ids):
            entry = parse_entry(text)
            if entry.get("role") != "traveller":
                seen.append({"at": entry["at"], "role": entry["role"], "action": entry["action"],
                             "purpose": entry.get("purpose"), "case_ref": entry.get("case_ref"),
                             "outcome": entry["outcome"]})
        op.note(person_id=person, found=True, entries=len(seen))
        return seen


def _code_hash(case_id: str, code: str) -> str:
    return hashlib.sha256(f"{case_id}\n{code.strip().upper()}".encode()).hexdigest()


def request_correction(
    store: EventStore, ctx: AccessContext, identity: TravellerIdentity, field: str, claimed_value: str, explanation: str
) -> tuple[str, str]:
    """Open a case asking an officer to correct ``field`` of the traveller's latest record; (case id, access code).

    The answer is the same whether or not the identity matched a record (an officer then finds no record and says
    so in the decision). While the case is open, the stay it concerns is never called an overstay.
    """
    from stayledger.domain.events import FIELDS
    from stayledger.errors import StayledgerError
    from stayledger.storage.base import CorrectionCase
    from stayledger.usecases.correct import NOT_CORRECTABLE

    with operation(store, ctx, Action.TRAVELLER_CORRECTION, field=field) as op:
        if field not in FIELDS or field in NOT_CORRECTABLE:
            raise StayledgerError(f"field {field!r} cannot be corrected (one of the record's fields, not event_id)")
        _, events, _ = _own_events(store, identity)
        arrivals = [e for e in events if e.kind == "arrival"] or events
        disputed = arrivals[-1].event_id if arrivals else None
        case_id, code = secrets.token_hex(6).upper(), secrets.token_hex(5).upper()
        store.open_case(CorrectionCase(case_id, disputed, field, claimed_value.strip(), explanation.strip(),
                                       _code_hash(case_id, code), created_at=store.clock()))
        op.note(case_id=case_id, event_ids=[disputed] if disputed else [])
        return case_id, code


def case_state(store: EventStore, ctx: AccessContext, case_id: str, code: str) -> dict[str, Any]:
    """The case's state and, once decided, the officer's reasons (the access code proves it is the traveller's)."""
    with operation(store, ctx, Action.TRAVELLER_CASE, case_id=case_id) as op:
        case = next((c for c in store.cases() if c.case_id == case_id), None)
        if case is None or not secrets.compare_digest(case.code_hash, _code_hash(case_id, code)):
            raise NotFound(f"no case {case_id!r} with that access code")
        op.note(state=case.state)
        return {"case_id": case.case_id, "field": case.field, "claimed_value": case.claimed_value, "state": case.state,
                "decision": case.decision_note, "decided_at": case.decided_at.isoformat() if case.decided_at else None}


def list_cases(store: EventStore, ctx: AccessContext, state: str | None = "open") -> list[Any]:
    """Correction cases for officers (their claimed values are personal data: a purpose is required)."""
    with operation(store, ctx, Action.LIST_CASES, state=state or "all") as op:
        cases = store.cases(state)
        op.note(count=len(cases), case_ids=[c.case_id for c in cases])
        return cases


def decide_case(store: EventStore, ctx: AccessContext, case_id: str, *, accept: bool, reasons: str) -> Any:
    """Decide a case with reasons; accepted, the claimed value becomes a correction event and the person is re-linked."""
    from stayledger.errors import StayledgerError
    from stayledger.usecases.correct import _correct
    from stayledger.usecases.resolve import relink

    with operation(store, ctx, Action.DECIDE_CASE, case_id=case_id, decision="accept" if accept else "reject") as op:
        case = next((c for c in store.cases() if c.case_id == case_id), None)
        if case is None:
            raise NotFound(f"no case {case_id!r}")
        if case.state != "open":
            raise StayledgerError(f"case {case_id} was decided already ({case.state})")
        if len(reasons.strip()) < 3:
            raise StayledgerError("a decision needs its reasons (at least 3 characters): the traveller reads them")
        if accept:
            if case.event_id is None:
                raise StayledgerError(f"case {case_id} matched no record: nothing to correct (reject it, saying so)")
            correction = _correct(store, case.event_id, {case.field: case.claimed_value}, "traveller", None)
            relink(store)
            op.note(event_ids=[case.event_id, correction.event_id])
        store.decide_case(case_id, "accepted" if accept else "rejected", ctx.actor, reasons.strip(), store.clock())
        return next(c for c in store.cases() if c.case_id == case_id)
