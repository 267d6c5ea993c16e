"""Use case: enforce retention limits — find (and, when asked, erase) records whose retention has run out.

Erasure erases: the events, what derives from them (identities, identity history, review items and decisions,
the name frequencies in the linkage model), quarantine entries that carry the persons' event ids or document
numbers, and quarantine entries older than their own limit. The store is then rewritten so that no erased value
remains in its files (an interrupted rewrite is finished when the ledger is next opened). The audit entry holds
counts and the reason only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from stayledger.domain.access import AccessContext, Action
from stayledger.domain.corrections import effective_events
from stayledger.domain.events import Event
from stayledger.domain.retention import YEARS_AFTER_EXIT, YEARS_WITHOUT_EXIT, retention_ends
from stayledger.rules import get_pack
from stayledger.storage.base import ErasurePlan, EventStore, StoredQuarantine
from stayledger.usecases.accountability import operation
from stayledger.usecases.resolve import ensure_resolved
from stayledger.usecases.stays import person_groups

QUARANTINE_RETENTION_DAYS = 365  # a refused record is kept a year for the sender to correct and resend
_TOKEN = re.compile(r"[0-9A-Z][0-9A-Z_.~-]*")


@dataclass(frozen=True)
class RetentionReport:
    as_of: date
    persons_due: int
    events_due: int
    quarantine_due: int
    erased: int  # 0 on a dry run
    model_rebuilt: bool = False


def enforce_retention(
    store: EventStore, ctx: AccessContext, as_of: date, *, apply: bool, pack: str = "us"
) -> RetentionReport:
    """Erase every person whose latest stay's retention ended before ``as_of`` (only counts are reported)."""
    action = Action.APPLY_RETENTION if apply else Action.CHECK_RETENTION
    with operation(store, ctx, action, as_of=as_of.isoformat()) as op:
        op.note(resolved_first=ensure_resolved(store))
        plan = _erasure_plan(store, as_of, pack)
        report = RetentionReport(as_of, len(plan.person_ids), len(plan.event_ids), len(plan.quarantine_ids), 0)
        op.note(persons_due=report.persons_due, events_due=report.events_due, quarantine_due=report.quarantine_due)
        if apply and (plan.event_ids or plan.quarantine_ids):
            erased = store.erase(plan)
            rebuilt = _rebuild_model_without_erased(store) if plan.event_ids else False
            report = RetentionReport(as_of, report.persons_due, report.events_due, report.quarantine_due, erased, rebuilt)
            op.note(erased=erased, model_rebuilt=rebuilt, reason=plan.reason)
    if report.erased or (apply and report.quarantine_due):
        # After the commit: rewrite the store so erased values leave its files too. The erasure marked the
        # store for it, so a run killed before the rewrite is finished when the ledger is next opened.
        store.compact()
    return report


def _erasure_plan(store: EventStore, as_of: date, pack: str) -> ErasurePlan:
    rules = get_pack(pack)
    groups, _ = person_groups(store)
    due_events: list[Event] = []
    persons: list[str] = []
    for person_id, events in groups.items():
        stays = rules.determine_person_stays(person_id, effective_events(events), as_of)
        if not stays:
            continue  # events without an arrival: kept until an arrival or a person-level rule decides
        ends = retention_ends(stays[-1], {e.event_id: e for e in events})
        if ends is not None and ends < as_of:
            persons.append(person_id)
            due_events.extend(events)
    quarantine = _quarantine_due(store.quarantine_entries(), due_events, as_of)
    reason = (f"retention: {YEARS_AFTER_EXIT} years after exit / {YEARS_WITHOUT_EXIT} years without exit; "
              f"quarantine {QUARANTINE_RETENTION_DAYS} days; as of {as_of}")
    return ErasurePlan([e.event_id for e in due_events], persons, quarantine, reason)


def _quarantine_due(entries: list[StoredQuarantine], erased: list[Event], as_of: date) -> list[str]:
    """Entries past their own limit, and entries that carry an erased event id or document number."""
    oldest_kept = as_of - timedelta(days=QUARANTINE_RETENTION_DAYS)
    identifiers = {e.event_id.upper() for e in erased} | {e.document_number.upper() for e in erased if e.document_number}
    due = []
    for stored in entries:
        entry = stored.entry
        expired = stored.quarantined_at.date() < oldest_kept
        carries = (entry.event_id is not None and entry.event_id.upper() in identifiers) or bool(
            identifiers and identifiers.intersection(_TOKEN.findall(entry.raw.upper()))
        )
        if expired or carries:
            due.append(entry.quarantine_id)
    return due


def _rebuild_model_without_erased(store: EventStore) -> bool:
    """Keep one model version whose name frequencies come from the remaining events only."""
    latest = store.latest_model()
    if latest is None:
        return False
    from stayledger.identity.features import build_features
    from stayledger.identity.model import LinkageModel
    from stayledger.identity.term_frequencies import refresh_term_frequencies

    model = refresh_term_frequencies(LinkageModel.from_json(latest[1]), build_features(store.events_table()))
    store.replace_models(model.to_json(), f"version {latest[0]} with name frequencies rebuilt after an erasure")
    return True
