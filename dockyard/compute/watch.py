"""Follows the engine's events so records change as soon as the containers do."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from dockyard.compute.freshness import Freshness
from dockyard.compute.reconcile import Reconciler
from dockyard.domain.models import RuntimeEvent
from dockyard.drivers.runtime.base import EventStream, RuntimeDriver

LOG = logging.getLogger(__name__)

RETRY_AFTER = 2.0


class EventWatcher:
    """A thread that refreshes a record on every engine event about it.

    The periodic relist stays as the safety net: events missed while the
    stream reconnects are caught by it. Events the agent caused itself are
    skipped: those about a container an operation is working on (it reports
    the outcome) and those older than the agent's last look at the container.
    Events about another installation's containers are ignored; an unlabelled
    (older) container is refreshed only when this installation has its record.
    """

    def __init__(
        self,
        host: str,
        runtime: RuntimeDriver,
        reconciler: Reconciler,
        freshness: Freshness | None = None,
        busy: Callable[[str], bool] = lambda uuid: False,
    ) -> None:
        self.host = host
        self.runtime = runtime
        self.reconciler = reconciler
        self.freshness = freshness or Freshness()
        self.busy = busy
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
                    self._handle(event)
            except Exception as exc:
                if self._stopping.is_set():
                    return
                LOG.warning("engine event stream of %s broke (%s); reconnecting", self.host, exc)
            self._stopping.wait(RETRY_AFTER)

    def _handle(self, event: RuntimeEvent) -> None:
        if event.installation not in (None, self.reconciler.owner.installation):
            return  # another installation's container on this engine and host name
        if self.busy(event.uuid) or self.freshness.covers(event.uuid, event.time):
            return
        try:
            self.reconciler.refresh(event.uuid)
        except Exception:
            LOG.exception("could not refresh %s after engine event %s", event.uuid, event.action)
