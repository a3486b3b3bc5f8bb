"""Counting failures per key in a sliding window, to slow down password guessing."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

# Sweep idle keys once this many are tracked, so random user names cannot grow memory.
_SWEEP_AT = 4096


class FailureLimiter:
    """At most ``limit`` failures per key within ``window`` seconds; then callers wait."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again; 0 when it may try now."""
        with self._lock:
            now = self.clock()
            recent = self._prune(key, now)
            if len(recent) < self.limit:
                return 0
            # The attempt is allowed again once enough old failures leave the window.
            unblocks_at = recent[len(recent) - self.limit] + self.window
            return max(1, math.ceil(unblocks_at - now))

    def failed(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            recent = self._prune(key, now)
            recent.append(now)
            self._failures[key] = recent
            if len(self._failures) >= _SWEEP_AT:
                for other in list(self._failures):
                    self._prune(other, now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float]:
        recent = self._failures.get(key, deque(maxlen=self.limit))
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if not recent:
            self._failures.pop(key, None)
        return recent
