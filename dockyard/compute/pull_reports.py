"""Pull progress, reported no more often than a client can use it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from dockyard.domain.errors import DockyardError
from dockyard.domain.image_records import PullProgress

LOG = logging.getLogger(__name__)

#: Seconds between two progress reports of one pull: well within the 2 s a client
#: polling the record may expect, yet one RPC per second at most per pull.
REPORT_EVERY = 1.0


class ThrottledProgress:
    """Passes progress on at most every ``interval`` s; ``flush`` sends what is held back.

    A report that fails is dropped (the next one replaces it): progress never
    fails the pull.
    """

    def __init__(
        self,
        send: Callable[[PullProgress], object],
        monotonic: Callable[[], float],
        interval: float = REPORT_EVERY,
    ) -> None:
        self._send = send
        self._monotonic = monotonic
        self._interval = interval
        self._last_sent: float | None = None
        self._held: PullProgress | None = None
        self.sent: int = 0

    def __call__(self, progress: PullProgress) -> None:
        now = self._monotonic()
        if self._last_sent is not None and now - self._last_sent < self._interval:
            self._held = progress
            return
        self._deliver(progress, now)

    def flush(self) -> None:
        if self._held is not None:
            self._deliver(self._held, self._monotonic())

    def _deliver(self, progress: PullProgress, now: float) -> None:
        self._held = None
        self._last_sent = now
        try:
            self._send(progress)
            self.sent += 1
        except DockyardError as exc:
            LOG.info("a pull progress report was dropped: %s", exc)
