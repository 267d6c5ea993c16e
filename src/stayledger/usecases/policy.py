"""The access policy: role × action → allowed, and which actions need a stated purpose. Deny by default.

One table, checked in one place (``authorize``). An action that is not in the table is refused for every role,
and the unit tests fail until it is added, so a new use case cannot ship without a policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from stayledger.domain.access import MIN_PURPOSE_LENGTH, AccessContext, AccessDenied, Action, PurposeRequired, Role

A, R = Action, Role


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    purpose_required: bool  # per-person and bulk reads of personal data, and corrections


def _rule(*roles: Role, purpose: bool = False) -> Rule:
    return Rule(frozenset(roles), purpose)


POLICY: dict[Action, Rule] = {
    A.INGEST_EVENTS: _rule(R.INGEST, R.ADMIN),
    A.LIST_QUARANTINE: _rule(R.ADMIN, purpose=True),  # raw records: names, documents
    A.RESOLVE_IDENTITIES: _rule(R.ADMIN),
    A.VIEW_PERSON: _rule(R.OFFICER, R.REVIEWER, R.ADMIN, purpose=True),
    A.EXPLAIN_PAIR: _rule(R.OFFICER, R.REVIEWER, R.ADMIN, purpose=True),
    A.LIST_REVIEW: _rule(R.REVIEWER, R.ADMIN),  # event ids and probabilities, no names
    A.COUNT_HELD_STAYS: _rule(R.REVIEWER, R.ANALYST, R.ADMIN),  # counts of needs_review stays by reason, no records
    A.SHOW_REVIEW: _rule(R.REVIEWER, R.ADMIN, purpose=True),
    A.DECIDE_REVIEW: _rule(R.REVIEWER, R.ADMIN),
    A.CORRECT_EVENT: _rule(R.OFFICER, R.ADMIN, purpose=True),
    A.EXPORT_EVENTS: _rule(R.ADMIN, purpose=True),
    A.EXPORT_IDENTITIES: _rule(R.ADMIN, purpose=True),
    A.EXPORT_STAYS: _rule(R.ADMIN, purpose=True),
    A.DETERMINE_STAYS: _rule(R.ADMIN),  # reads every record; its stays stay in the ledger (counts shown)
    A.REPORT_OVERSTAYS: _rule(R.ANALYST, R.ADMIN),  # aggregates with small cells withheld
    A.EVALUATE: _rule(R.ANALYST, R.ADMIN),  # accuracy figures only
    A.LIVE_FIGURES: _rule(R.ANALYST, R.ADMIN),  # counts of the day and of waiting work, no records
    A.CHECK_RETENTION: _rule(R.ADMIN),
    A.APPLY_RETENTION: _rule(R.ADMIN),
    A.MIGRATE_LEDGER: _rule(R.ADMIN),  # a copy of every record: as much as a bulk export
    A.LIST_AUDIT: _rule(R.AUDITOR, R.ADMIN),
    A.VERIFY_AUDIT: _rule(R.AUDITOR, R.ADMIN),
    A.CHECKPOINT_AUDIT: _rule(R.AUDITOR, R.ADMIN),
    A.PROVE_AUDIT: _rule(R.AUDITOR, R.ADMIN),
    A.ADD_USER: _rule(R.ADMIN),
    A.LIST_USERS: _rule(R.ADMIN),
    A.REVOKE_USER: _rule(R.ADMIN),
    # Self-service: identified by their own document, a traveller sees and reports only their own records.
    A.TRAVELLER_STATUS: _rule(R.TRAVELLER),
    A.TRAVELLER_DEPARTURE: _rule(R.TRAVELLER),
    A.TRAVELLER_RECEIPT: _rule(R.TRAVELLER),
    A.TRAVELLER_ACCESS_LOG: _rule(R.TRAVELLER),
    A.TRAVELLER_CORRECTION: _rule(R.TRAVELLER),
    A.TRAVELLER_CASE: _rule(R.TRAVELLER),
    A.LIST_CASES: _rule(R.OFFICER, R.ADMIN, purpose=True),  # claimed values are personal data
    A.DECIDE_CASE: _rule(R.OFFICER, R.ADMIN),
}


def authorize(ctx: AccessContext, action: Action) -> None:
    """Raise ``AccessDenied`` (or ``PurposeRequired``) unless the policy allows ``action`` for ``ctx``."""
    rule = POLICY.get(action)
    if rule is None or ctx.role not in rule.roles:
        raise AccessDenied(f"role {ctx.role.value!r} may not {action.value}")
    if rule.purpose_required and not ctx.has_purpose:
        raise PurposeRequired(
            f"{action.value} needs a purpose of at least {MIN_PURPOSE_LENGTH} characters "
            "(say why: --purpose on the command line, ?purpose= over HTTP; it is recorded in the audit log)"
        )
