"""Who acts, in which role, and why: the access context every use case that touches personal data runs in.

Pure: no clock, no I/O. The policy (which role may do what, and when a purpose is required) is in
``usecases/policy.py``; entry points build the context (the CLI from ``--actor``/``--purpose``, the service from
the authenticated caller) and pass it to the use case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from stayledger.errors import StayledgerError

MIN_PURPOSE_LENGTH = 3


class Role(str, Enum):
    """What an actor is allowed to do is decided by role alone (deny by default)."""

    INGEST = "ingest"  # carrier and port systems: write only
    OFFICER = "officer"  # per-person lookups and corrections, with a purpose
    REVIEWER = "reviewer"  # clerical review of uncertain links
    ANALYST = "analyst"  # aggregates only
    AUDITOR = "auditor"  # the audit log only
    ADMIN = "admin"  # users, retention, bulk exports (the command line acts as admin)
    TRAVELLER = "traveller"  # self-service about one's own record (no account)


class Action(str, Enum):
    """Every operation of a use case, named as it appears in the audit log."""

    INGEST_EVENTS = "events.ingest"
    LIST_QUARANTINE = "quarantine.list"
    RESOLVE_IDENTITIES = "identities.resolve"
    VIEW_PERSON = "person.view"
    EXPLAIN_PAIR = "pair.explain"
    LIST_REVIEW = "review.list"
    COUNT_HELD_STAYS = "review.held"
    SHOW_REVIEW = "review.show"
    DECIDE_REVIEW = "review.decide"
    CORRECT_EVENT = "event.correct"
    EXPORT_EVENTS = "export.events"
    EXPORT_IDENTITIES = "export.identities"
    EXPORT_STAYS = "export.stays"
    DETERMINE_STAYS = "stays.determine"
    REPORT_OVERSTAYS = "report.overstays"
    EVALUATE = "accuracy.evaluate"
    LIVE_FIGURES = "figures.live"
    CHECK_RETENTION = "retention.check"
    APPLY_RETENTION = "retention.apply"
    MIGRATE_LEDGER = "ledger.migrate"
    LIST_AUDIT = "audit.list"
    VERIFY_AUDIT = "audit.verify"
    CHECKPOINT_AUDIT = "audit.checkpoint"
    PROVE_AUDIT = "audit.prove"
    ADD_USER = "users.add"
    LIST_USERS = "users.list"
    REVOKE_USER = "users.revoke"
    TRAVELLER_STATUS = "traveller.status"
    TRAVELLER_DEPARTURE = "traveller.departure"
    TRAVELLER_RECEIPT = "traveller.receipt"
    TRAVELLER_ACCESS_LOG = "traveller.access_log"
    TRAVELLER_CORRECTION = "traveller.correction"
    TRAVELLER_CASE = "traveller.case"
    LIST_CASES = "cases.list"
    DECIDE_CASE = "cases.decide"


class AccessDenied(StayledgerError):
    """The policy refuses the action for this context (the refusal itself is in the audit log)."""


class PurposeRequired(AccessDenied):
    """A per-person or bulk read without a stated purpose."""


@dataclass(frozen=True, slots=True)
class AccessContext:
    """An actor acting in a role, for a purpose (and an optional case reference), in one request."""

    actor: str
    role: Role
    purpose: str | None = None
    case_ref: str | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not self.actor or not self.actor.strip():
            raise AccessDenied("no actor: every operation is attributed to someone (pass --actor or set STAYLEDGER_ACTOR)")
        object.__setattr__(self, "actor", self.actor.strip())
        for name in ("purpose", "case_ref"):
            value = getattr(self, name)
            object.__setattr__(self, name, value.strip() if value and value.strip() else None)

    @property
    def has_purpose(self) -> bool:
        return self.purpose is not None and len(self.purpose) >= MIN_PURPOSE_LENGTH
