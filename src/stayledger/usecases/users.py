"""Use cases: service accounts. A token is shown once, at creation; the ledger keeps its id and an Argon2 hash.

A token reads ``slt_<id>_<secret>``: the id finds the account without scanning, the secret is checked against the
hash. Names are never reused, so the audit log's actor names stay unambiguous.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from stayledger.domain.access import AccessContext, Action, Role
from stayledger.errors import NotFound, StayledgerError
from stayledger.storage.base import EventStore, ServiceUser
from stayledger.usecases.accountability import operation

TOKEN_PREFIX = "slt"
STAFF_ROLES = tuple(r for r in Role if r is not Role.TRAVELLER)  # travellers have no accounts
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
# Tokens carry 256 random bits, so the hash need not slow guessing down much; OWASP's minimum Argon2id settings.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@dataclass(frozen=True)
class Account:
    """What may be shown about an account (never the hash)."""

    name: str
    role: str
    created_at: str
    revoked: bool


def add_user(store: EventStore, ctx: AccessContext, name: str, role: str) -> str:
    """Create an account and return its bearer token (shown this once)."""
    with operation(store, ctx, Action.ADD_USER, user=name, user_role=role):
        if not _NAME.match(name):
            raise StayledgerError(f"user name {name!r}: 2-64 letters, digits, '.', '_', '@' or '-'")
        if role not in {r.value for r in STAFF_ROLES}:
            raise StayledgerError(f"role {role!r}: one of {', '.join(r.value for r in STAFF_ROLES)}")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        store.add_user(ServiceUser(name, role, token_id, _HASHER.hash(secret), store.clock()))
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def list_users(store: EventStore, ctx: AccessContext) -> list[Account]:
    with operation(store, ctx, Action.LIST_USERS) as op:
        accounts = [Account(u.name, u.role, u.created_at.isoformat(timespec="seconds"), u.revoked_at is not None)
                    for u in store.users()]
        op.note(count=len(accounts))
        return accounts


def revoke_user(store: EventStore, ctx: AccessContext, name: str) -> None:
    with operation(store, ctx, Action.REVOKE_USER, user=name):
        if not store.revoke_user(name, store.clock()):
            raise NotFound(f"no active user {name!r}")


def authenticate(store: EventStore, token: str) -> ServiceUser | None:
    """The active account a bearer token belongs to, or None (a wrong, malformed or revoked token alike)."""
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not token_id or not secret:
        return None
    user = store.user_by_token_id(token_id)
    if user is None or user.revoked_at is not None:
        return None
    try:
        _HASHER.verify(user.token_hash, secret)
    except (VerificationError, InvalidHashError):
        return None
    return user
