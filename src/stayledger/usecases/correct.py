"""Use case: record a correction — a new event that replaces an earlier one, which stays in the ledger."""

from __future__ import annotations

from stayledger.domain.access import AccessContext, Action
from stayledger.domain.events import Event, parse_event
from stayledger.errors import InvalidRecord, NotFound, StayledgerError
from stayledger.storage.base import IdentityAssignment, EventStore, make_batch
from stayledger.usecases.accountability import operation

NOT_CORRECTABLE = frozenset({"event_id", "corrects"})


def record_correction(
    store: EventStore,
    ctx: AccessContext,
    original_id: str,
    changes: dict[str, str],
    *,
    source: str,
    event_id: str | None = None,
) -> Event:
    """Append a copy of ``original_id`` with ``changes`` applied, marked as correcting it.

    ``source`` says who corrects (e.g. ``officer``, ``traveller``); an empty value in ``changes`` removes a field.
    The audit entry names the events and the fields changed, never the values.
    """
    with operation(store, ctx, Action.CORRECT_EVENT, event_ids=[original_id], fields=sorted(changes),
                   source=source) as op:
        correction = _correct(store, original_id, changes, source, event_id)
        op.note(event_ids=[original_id, correction.event_id])
        return correction


def _correct(store: EventStore, original_id: str, changes: dict[str, str], source: str, event_id: str | None) -> Event:
    found = store.events_by_id([original_id])
    if not found:
        raise NotFound(f"no event {original_id!r} in the ledger")
    refused = sorted(NOT_CORRECTABLE & set(changes))
    if refused:
        raise StayledgerError(f"cannot change {', '.join(refused)} with a correction")
    record = found[0].to_record()
    for name, value in changes.items():
        if value == "":
            record.pop(name, None)
        else:
            record[name] = value
    record["source"] = source
    record["corrects"] = original_id
    record["event_id"] = event_id or f"{original_id}~fix{_next_number(store, original_id)}"
    try:
        correction = parse_event(record)
    except InvalidRecord as exc:
        raise StayledgerError(f"the corrected record is not valid: {exc}") from None
    outcome = store.append_events(make_batch([correction], ["correction"], ["command line"], [str(record)]), [])
    if outcome.conflicts:
        raise StayledgerError(outcome.conflicts[0].reasons)
    # A correction is the same traveller as its original (every resolution run joins them too): join it now, so
    # the person's stays use the corrected record at once instead of after the next `resolve`.
    original = store.assignments_for([original_id]).get(original_id)
    if original is not None:
        store.add_identities([IdentityAssignment(correction.event_id, original.person_id, None)])
    return correction


def _next_number(store: EventStore, original_id: str) -> int:
    n = 1  # a point read per candidate id: a ledger of millions is not read for one correction
    while store.events_by_id([f"{original_id}~fix{n}"]):
        n += 1
    return n
