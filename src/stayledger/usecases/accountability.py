"""Every use case that touches personal data runs as an accountable operation.

``operation`` checks the policy first (a refusal is audited and raised), then runs the work and appends its audit
entry in the same unit of work, so the entry exists exactly when the work took effect. A failure rolls the work
back and is audited on its own: refusals, failed lookups and errors are in the log too.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from stayledger.audit.log import AuditRecord, ObjectValue
from stayledger.domain.access import AccessContext, AccessDenied, Action
from stayledger.errors import NotFound
from stayledger.failpoints import failpoint
from stayledger.storage.base import EventStore
from stayledger.usecases.policy import authorize


class Operation:
    """One operation being performed: what it touches (ids and counts only) and how it ends."""

    def __init__(self, store: EventStore, ctx: AccessContext, action: Action, objects: dict[str, ObjectValue]) -> None:
        self.store = store
        self.ctx = ctx
        self.action = action
        self.objects = objects
        self.outcome = "ok"
        self.parts_logged = 0

    def note(self, **objects: ObjectValue) -> None:
        """Add object references (event ids, person ids, counts) to the entry; never names or documents."""
        self.objects.update(objects)

    def record(self, outcome: str, **objects: ObjectValue) -> AuditRecord:
        ctx = self.ctx
        return AuditRecord(self.action.value, ctx.actor, ctx.role.value, outcome, ctx.purpose, ctx.case_ref,
                           ctx.request_id, {**self.objects, **objects})

    def log_part(self, **objects: ObjectValue) -> None:
        """For work committed in parts (ingest chunks): audit this part inside the caller's unit of work."""
        self.store.append_audit([self.record("ok", **objects)])
        self.parts_logged += 1


def _log_alone(store: EventStore, record: AuditRecord) -> None:
    """Audit a refusal or failure in its own unit of work (the operation's own writes were rolled back)."""
    try:
        store.append_audit([record])
    except Exception as exc:  # the store itself failed: the original error is what the user must see
        logging.getLogger("stayledger.audit").error(
            "could not write the audit entry for %s (%s): %s", record.action, record.outcome, exc)


@contextmanager
def operation(
    store: EventStore, ctx: AccessContext, action: Action, *, atomic: bool = True, **objects: ObjectValue
) -> Iterator[Operation]:
    """Authorise, run and audit one operation. ``atomic=False`` leaves commits to the body (``log_part``)."""
    op = Operation(store, ctx, action, dict(objects))
    try:
        authorize(ctx, action)
    except AccessDenied as exc:
        _log_alone(store, op.record(f"refused: {exc}"))
        raise
    try:
        if atomic:
            with store.unit_of_work():
                yield op
                store.append_audit([op.record(op.outcome)])
                failpoint(f"{action.value}.before_commit")
        else:
            yield op
            if not op.parts_logged:
                store.append_audit([op.record(op.outcome)])
    except NotFound:
        _log_alone(store, op.record("not_found"))
        raise
    except KeyboardInterrupt:
        _log_alone(store, op.record("interrupted"))
        raise
    except BaseException as exc:
        _log_alone(store, op.record(f"error: {type(exc).__name__}"))
        raise
