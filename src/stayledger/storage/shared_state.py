"""State the processes serving one ledger must share: request counters (rate limits) and staff console sessions.

One process that owns its ledger (DuckDB) keeps it in memory (``ProcessState``). Several service workers on one
PostgreSQL ledger keep it in the database (``storage.postgres_state``), so a limit holds whichever worker a
request reaches and a console sign-in is known to every worker. Not part of the ledger: nothing here is a record
of a traveller, and it is neither copied by ``migrate`` nor kept after it has expired.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Any, Sequence


class SharedState(ABC):
    @abstractmethod
    def allow(self, key: str, limit: int, window: float) -> bool:
        """Count a request against ``key``; False when ``limit`` requests were counted in the last ``window`` seconds."""

    def allow_each(self, limits: Sequence[tuple[str, int]], window: float) -> str | None:
        """Count a request against each ``(key, limit)`` in turn, up to the first that refuses it: that key, or None
        when all allowed it. A key after a refusal is not counted (a backend in a database does it in one statement)."""
        for key, limit in limits:
            if not self.allow(key, limit, window):
                return key
        return None

    @abstractmethod
    def save_session(self, key: str, session: dict[str, Any], seconds: float) -> None:
        """Keep a signed-in session under its (secret) key for ``seconds``."""

    @abstractmethod
    def session(self, key: str) -> dict[str, Any] | None:
        """The session kept under ``key``, or None (unknown or expired)."""

    @abstractmethod
    def drop_session(self, key: str) -> None: ...


class ProcessState(SharedState):
    """In this process's memory: right when one process serves the ledger."""

    def __init__(self) -> None:
        self._hits: dict[str, list[float]] = {}
        self._sessions: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window: float) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._hits.get(key, []) if now - t < window]
            allowed = len(recent) < limit
            if allowed:
                recent.append(now)
            self._hits[key] = recent
            if len(self._hits) > 100_000:  # forget idle keys rather than grow without bound
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < window}
            return allowed

    def save_session(self, key: str, session: dict[str, Any], seconds: float) -> None:
        with self._lock:
            self._sessions[key] = (time.monotonic() + seconds, dict(session))

    def session(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._sessions.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._sessions[key]
                return None
            return dict(found[1])

    def drop_session(self, key: str) -> None:
        with self._lock:
            self._sessions.pop(key, None)
