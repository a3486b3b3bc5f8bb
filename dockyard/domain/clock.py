"""The time as Dockyard reads it: one clock per process, built where the process is
composed and handed to whatever needs the time, so tests can hold it still."""

from __future__ import annotations

import datetime as dt
import time


class Clock:
    """Wall-clock time as naive UTC (how records store it) and a monotonic counter."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; only differences mean anything."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
