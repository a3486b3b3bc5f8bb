"""The one stand-in for ``dockyard.domain.clock.Clock``: time moves only when told."""

from __future__ import annotations

import datetime as dt
import threading

from dockyard.domain.clock import Clock

#: Where a fake clock starts unless told otherwise.
EPOCH = dt.datetime(2025, 1, 1, 12, 0, 0)


class FakeClock(Clock):
    """Reads ``at`` (naive UTC) and ``ticks``; ``advance`` moves both readings.

    With ``step``, every wall-clock reading also moves the clock on by ``step``,
    so successive readings differ as real ones would.
    """

    def __init__(
        self,
        at: dt.datetime = EPOCH,
        step: dt.timedelta = dt.timedelta(0),
        ticks: float = 0.0,
    ) -> None:
        self.at = at
        self.step = step
        self.ticks = ticks
        #: Every ``sleep``, in order.
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            value = self.at
            self.at = value + self.step
            return value

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.at += dt.timedelta(seconds=seconds)
            self.ticks += seconds

    def sleep(self, seconds: float) -> None:
        """Sleep without waiting: the clock moves on by ``seconds``."""
        self.slept.append(seconds)
        self.advance(seconds)
