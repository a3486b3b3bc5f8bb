"""A daemon thread that runs one task every few seconds until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, every: float, task: Callable[[], object]) -> None:
        self.name = name
        self.every = every
        self.task = task
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.wait(self.every):
            try:
                self.task()
            except Exception:
                LOG.exception("%s failed; trying again in %.0f s", self.name, self.every)
