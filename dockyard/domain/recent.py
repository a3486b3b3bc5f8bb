"""Answers worth trusting for a little while (a yes from an engine or an agent)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Recent(Generic[K]):
    """Keys remembered for ``ttl`` seconds after they were added."""

    def __init__(
        self, ttl: float, clock: Callable[[], float] = time.monotonic, limit: int = 1024
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.limit = limit
        self._until: dict[K, float] = {}

    def __contains__(self, key: K) -> bool:
        return self._until.get(key, 0.0) > self.clock()

    def add(self, key: K) -> None:
        now = self.clock()
        if len(self._until) >= self.limit:
            self._until = {k: t for k, t in self._until.items() if t > now}
        self._until[key] = now + self.ttl

    def forget(self, key: K) -> bool:
        """Drop ``key``; whether it was still remembered."""
        return self._until.pop(key, 0.0) > self.clock()
