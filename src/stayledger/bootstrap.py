"""Wiring: the one place that reads settings and chooses the storage backend."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from stayledger.errors import ConfigurationError
from stayledger.storage.base import EventStore

if TYPE_CHECKING:
    from stayledger.usecases.audit import Signer

DEFAULT_DB = "stayledger.duckdb"
DB_ENV = "STAYLEDGER_DB"
AUDIT_KEY_ENV = "STAYLEDGER_AUDIT_KEY"


def default_audit_key() -> Path:
    """Outside the ledger on purpose: whoever can rewrite the ledger file must not be able to re-sign its log."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "stayledger" / "audit-signing-key.pem"


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed settings; ``db`` is a file path (DuckDB) or a ``postgresql://`` URL; ``audit_key`` the checkpoint key."""

    db: str
    audit_key: Path

    @classmethod
    def load(cls, db: str | None = None, audit_key: str | None = None) -> "Settings":
        """--db wins over STAYLEDGER_DB, which wins over ./stayledger.duckdb; likewise for the audit key."""
        chosen = db or os.environ.get(DB_ENV) or DEFAULT_DB
        if not chosen.strip():
            raise ConfigurationError(f"the database setting is empty: pass --db PATH or set {DB_ENV}")
        key = audit_key or os.environ.get(AUDIT_KEY_ENV)
        return cls(db=chosen, audit_key=Path(key) if key else default_audit_key())


def load_signer(settings: Settings) -> "Signer":
    """The Ed25519 key that signs audit checkpoints (created, mode 0600, on first use)."""
    from stayledger.audit.checkpoint import load_or_create_signing_key
    from stayledger.usecases.audit import Signer

    try:
        return Signer(load_or_create_signing_key(settings.audit_key))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot use the audit signing key {settings.audit_key}: {exc} (set {AUDIT_KEY_ENV} or --key)"
        ) from None


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def shown_location(db: str | Path) -> str:
    """The ledger's location for messages and logs: a PostgreSQL URL without its password."""
    text = str(db)
    head, at, tail = text.rpartition("@")
    if not is_postgres_url(text) or not at:
        return text
    scheme, _, userinfo = head.partition("://")
    return f"{scheme}://{userinfo.split(':', 1)[0]}@{tail}"


def open_store(settings: Settings, *, read_only: bool = False) -> EventStore:
    """Open the configured backend (created and migrated on first use)."""
    if is_postgres_url(settings.db):
        from stayledger.storage.postgres import PostgresStore

        return PostgresStore(settings.db)  # read_only is for DuckDB's file lock; roles in the server grant reading
    from stayledger.storage.duckdb_store import DuckDBStore  # imported lazily: the CLI's --help stays fast

    path = Path(settings.db)
    if read_only and not path.exists():
        raise ConfigurationError(f"no database at {path}: ingest something first, or pass --db PATH")
    if path.parent and not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"--db {path}: cannot create its directory ({exc.strerror or exc})") from None
    return DuckDBStore(path, read_only=read_only)
