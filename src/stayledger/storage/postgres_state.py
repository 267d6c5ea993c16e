"""``SharedState`` in PostgreSQL: every worker serving the ledger counts and signs in through the same tables.

Rate limits use a sliding-window estimate over fixed windows (the previous window's count weighted by how much
of it still lies in the sliding window, plus the current one's): one statement per request, atomic under
concurrent workers (the upsert's row lock), and no row per request. Keys are stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

from psycopg_pool import ConnectionPool

from stayledger.storage.shared_state import SharedState

_COUNT = """
WITH carried AS (
    SELECT coalesce(max(hits), 0) * %(weight)s AS hits FROM request_counts
    WHERE key = %(key)s AND window_start_ms = %(previous)s
)
INSERT INTO request_counts AS r (key, window_start_ms, hits, expires_at)
SELECT %(key)s, %(start)s, 1, %(expires)s FROM carried WHERE carried.hits + 1 <= %(limit)s
ON CONFLICT (key, window_start_ms) DO UPDATE SET hits = r.hits + 1
    WHERE r.hits + 1 + (SELECT hits FROM carried) <= %(limit)s
RETURNING hits
"""


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class PostgresState(SharedState):
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._swept = 0.0  # when this process last removed expired rows

    def allow(self, key: str, limit: int, window: float) -> bool:
        now = time.time()
        start = math.floor(now / window) * window
        weight = 1.0 - (now - start) / window  # the share of the previous window still inside the sliding one
        params = {"key": _hashed(key), "start": round(start * 1000), "previous": round((start - window) * 1000),
                  "weight": weight, "limit": limit, "expires": start + 2 * window}
        with self._pool.connection() as conn:
            allowed = conn.execute(_COUNT, params).fetchone() is not None  # type: ignore[arg-type]
            self._sweep(conn, now, window)
        return allowed

    def save_session(self, key: str, session: dict[str, Any], seconds: float) -> None:
        with self._pool.connection() as conn:
            conn.execute("""INSERT INTO console_sessions VALUES (%s, %s, %s)
                            ON CONFLICT (key_hash) DO UPDATE SET session = excluded.session, expires_at = excluded.expires_at""",
                         [_hashed(key), json.dumps(session), time.time() + seconds])
            self._sweep(conn, time.time(), 0)

    def session(self, key: str) -> dict[str, Any] | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT session FROM console_sessions WHERE key_hash = %s AND expires_at > %s",
                               [_hashed(key), time.time()]).fetchone()
        return dict(json.loads(row[0])) if row else None

    def drop_session(self, key: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM console_sessions WHERE key_hash = %s", [_hashed(key)])

    def _sweep(self, conn: Any, now: float, every: float) -> None:
        """Remove expired rows now and then (at most once a minute per process), so the tables stay small."""
        if now - self._swept < max(60.0, every):
            return
        self._swept = now
        conn.execute("DELETE FROM request_counts WHERE expires_at < %s", [now])
        conn.execute("DELETE FROM console_sessions WHERE expires_at < %s", [now])
