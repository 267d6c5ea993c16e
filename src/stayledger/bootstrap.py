"""Wiring: the one place that reads settings and chooses the storage backend."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from stayledger.errors import ConfigurationError
from stayledger.storage.base import EventStore

DEFAULT_DB = "stayledger.duckdb"
DB_ENV = "STAYLEDGER_DB"


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed settings; ``db`` is a file path (DuckDB) or a ``postgresql://`` URL."""

    db: str

    @classmethod
    def load(cls, db: str | None = None) -> "Settings":
        """--db wins over STAYLEDGER_DB, which wins over ./stayledger.duckdb."""
        chosen = db or os.environ.get(DB_ENV) or DEFAULT_DB
        if not chosen.strip():
            raise ConfigurationError(f"the database setting is empty: pass --db PATH or set {DB_ENV}")
        return cls(db=chosen)


def open_store(settings: Settings, *, read_only: bool = False) -> EventStore:
    """Open the configured backend (created and migrated on first use)."""
    if settings.db.startswith(("postgresql://", "postgres://")):
        raise ConfigurationError(
            "the PostgreSQL backend is not available yet; use a DuckDB file path for --db (or STAYLEDGER_DB)"
        )
    from stayledger.storage.duckdb_store import DuckDBStore  # imported lazily: the CLI's --help stays fast

    path = Path(settings.db)
    if read_only and not path.exists():
        raise ConfigurationError(f"no database at {path}: ingest something first, or pass --db PATH")
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBStore(path, read_only=read_only)
