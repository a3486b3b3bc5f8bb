"""What the agent itself last saw of each container, so engine events about its own
operations are not looked up a second time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Marks older than this are forgotten; events that late are simply looked at again.
KEEP_FOR = 300.0


class Freshness:
    """The wall-clock time each container's record was last brought up to date.

    An operation marks a container just before it inspects it for its final
    report (or once it has removed it): every engine event stamped at or before
    that moment is already reflected in the record. The engine and the agent
    share the host's clock.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._seen: dict[str, float] = {}
        self._next_prune = clock() + KEEP_FOR

    def mark(self, uuid: str) -> None:
        now = self._clock()
        with self._guard:
            self._seen[uuid] = now
            if now >= self._next_prune:
                self._seen = {k: t for k, t in self._seen.items() if now - t < KEEP_FOR}
                self._next_prune = now + KEEP_FOR

    def covers(self, uuid: str, when: float | None) -> bool:
        """Whether an event about ``uuid`` at ``when`` is already reflected."""
        if when is None:
            return False
        with self._guard:
            seen = self._seen.get(uuid)
        return seen is not None and when <= seen
