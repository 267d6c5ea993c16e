"""How long a traveller's lookup by their own identity takes at least, found or not.

A record found takes longer to read than a miss, so an answer's time could tell a guesser that the document number,
birth date and surname were right. Every such answer is held until a floor. A fixed floor has to be set above the
slowest found lookup under the heaviest load, and then makes every traveller wait that long when the service is
quiet; set lower, it stops hiding anything once load slows the found lookups past it.

This floor follows the found lookups themselves: it is 1.25 times the 99th percentile of how long the found lookups
of the last minute took (``margin`` × ``quantile`` over ``horizon``; in a quieter minute, of the last ``enough``
found lookups, however old), never under ``least`` (the operator's setting) nor over ``most``. Only found lookups
count: a flood of misses, which are fast, cannot pull it down. It is recomputed every ``every`` found lookups (and
when it is stale), so that one lookup moves it by nothing a guesser could see. Until ``enough`` found lookups have
been seen at all (after a start) it holds at ``start`` at least.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable


class AnswerFloor:
    def __init__(self, least: float, *, start: float = 0.1, most: float = 5.0, horizon: float = 60.0,
                 quantile: float = 0.99, margin: float = 1.25, enough: int = 20, every: int = 10,
                 keep: int = 5000, clock: Callable[[], float] = time.monotonic) -> None:
        if least < 0:
            raise ValueError(f"the least floor cannot be negative ({least})")
        self.off = least == 0  # no floor at all: for tests only (serve's least is 10 ms)
        self.least, self.start, self.most = least, start, max(most, least)
        self._horizon, self._quantile, self._margin = horizon, quantile, margin
        self._enough, self._every = enough, every
        self._clock = clock
        self._found: deque[tuple[float, float]] = deque(maxlen=keep)  # (when, seconds) of recent found lookups
        self._lock = threading.Lock()
        self._since_computed = 0
        self._computed_at = clock()
        self._seconds = 0.0 if self.off else max(least, start)

    def found_took(self, seconds: float) -> None:
        """A found lookup took ``seconds`` (from the request's arrival to its answer being ready)."""
        if self.off:
            return
        with self._lock:
            self._found.append((self._clock(), seconds))
            self._since_computed += 1
            if self._since_computed >= self._every:
                self._compute()

    def seconds(self) -> float:
        """The floor now."""
        if self.off:
            return 0.0
        with self._lock:
            if self._clock() - self._computed_at > self._horizon / 10:
                self._compute()  # lookups age out of the horizon even when none come
            return self._seconds

    def _compute(self) -> None:
        now = self._clock()
        took = sorted(seconds for when, seconds in self._found if now - when <= self._horizon)
        if len(took) < self._enough:  # a quiet minute: the last ones seen, however old
            took = sorted(seconds for _, seconds in list(self._found)[-self._enough:])
        if len(took) < self._enough:  # too few ever seen to say where the slow ones lie: the start, or above them all
            floor = max(self.start, self._margin * took[-1]) if took else self.start
        else:
            floor = self._margin * took[min(len(took) - 1, int(self._quantile * len(took)))]
        self._seconds = min(self.most, max(self.least, floor))
        self._since_computed = 0
        self._computed_at = now
