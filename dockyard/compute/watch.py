"""Follows the engine's events so records change as soon as the containers do."""

from __future__ import annotations

import logging
import threading

from dockyard.compute.reconcile import Reconciler
from dockyard.drivers.runtime.base import EventStream, RuntimeDriver

LOG = logging.getLogger(__name__)

RETRY_AFTER = 2.0


class EventWatcher:
    """A thread that refreshes a record on every engine event about it.

    The periodic relist stays as the safety net: events missed while the
    stream reconnects are caught by it.
    """

    def __init__(self, host: str, runtime: RuntimeDriver, reconciler: Reconciler) -> None:
        self.host = host
        self.runtime = runtime
        self.reconciler = reconciler
        self._stopping = threading.Event()
        self._stream: EventStream | None = None
        self._thread = threading.Thread(target=self._follow, name=f"events-{host}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            stream.close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                self._stream = self.runtime.events(self.host)
                for event in self._stream:
                    self._handle(event.uuid, event.action)
            except Exception as exc:
                if self._stopping.is_set():
                    return
                LOG.warning("engine event stream of %s broke (%s); reconnecting", self.host, exc)
            self._stopping.wait(RETRY_AFTER)

    def _handle(self, uuid: str, action: str) -> None:
        try:
            self.reconciler.refresh(uuid)
        except Exception:
            LOG.exception("could not refresh %s after engine event %s", uuid, action)
