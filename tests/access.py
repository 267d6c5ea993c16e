"""Access contexts for tests: who acts, in which role, why."""

from __future__ import annotations

from stayledger.domain.access import AccessContext, Role

ADMIN = AccessContext("test-admin", Role.ADMIN, "automated test", request_id="test")


def as_role(role: Role, purpose: str | None = "automated test", actor: str = "tester") -> AccessContext:
    return AccessContext(actor, role, purpose, request_id="test")
