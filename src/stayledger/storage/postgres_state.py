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
from typing import Any, Sequence

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


def _counts_in_turn(limits: int) -> str:
    """``_COUNT`` for several keys in one statement: each key's count is taken only if every key before it
    allowed the request (the ``counted_*`` CTE of the one before returned its row). One row: allowed or not, per key."""
    parts, allowed = [], []
    for i in range(limits):
        before = f" AND EXISTS (SELECT 1 FROM counted_{i - 1})" if i else ""
        parts.append(f"""carried_{i} AS (
    SELECT coalesce(max(hits), 0) * %(weight)s AS hits FROM request_counts
    WHERE key = %(key_{i})s AND window_start_ms = %(previous)s
), counted_{i} AS (
    INSERT INTO request_counts AS r (key, window_start_ms, hits, expires_at)
    SELECT %(key_{i})s, %(start)s, 1, %(expires)s FROM carried_{i} WHERE carried_{i}.hits + 1 <= %(limit_{i})s{before}
    ON CONFLICT (key, window_start_ms) DO UPDATE SET hits = r.hits + 1
        WHERE r.hits + 1 + (SELECT hits FROM carried_{i}) <= %(limit_{i})s
    RETURNING hits
)""")
        allowed.append(f"EXISTS (SELECT 1 FROM counted_{i})")
    return f"WITH {', '.join(parts)} SELECT {', '.join(allowed)}"


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class PostgresState(SharedState):
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._swept = 0.0  # when this process last removed expired rows

    def allow(self, key: str, limit: int, window: float) -> bool:
        now = time.time()
        params = {"key": _hashed(key), "limit": limit, **self._window(now, window)}
        with self._pool.connection() as conn:
            allowed = conn.execute(_COUNT, params).fetchone() is not None  # type: ignore[arg-type]
            self._sweep(conn, now, window)
        return allowed

    def allow_each(self, limits: Sequence[tuple[str, int]], window: float) -> str | None:
        """One statement, one wait for the server, whatever the number of keys (a traveller's lookup counts
        against its address and its document: two round trips were two waits to be scheduled under load)."""
        keys = [key for key, _ in limits]
        if len(set(keys)) < len(keys) or not keys:  # one statement cannot count one row twice
            return super().allow_each(limits, window)
        now = time.time()
        params: dict[str, Any] = self._window(now, window)
        for i, (key, limit) in enumerate(limits):
            params[f"key_{i}"], params[f"limit_{i}"] = _hashed(key), limit
        with self._pool.connection() as conn:
            row = conn.execute(_counts_in_turn(len(limits)), params).fetchone()  # type: ignore[arg-type]
            self._sweep(conn, now, window)
        assert row is not None
        return next((key for key, allowed in zip(keys, row) if not allowed), None)

    @staticmethod
    def _window(now: float, window: float) -> dict[str, Any]:
        """The fixed window ``now`` falls in, the one before it, and the share of that one still in the sliding window."""
        start = math.floor(now / window) * window
        return {"start": round(start * 1000), "previous": round((start - window) * 1000),
                "weight": 1.0 - (now - start) / window, "expires": start + 2 * window}

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
