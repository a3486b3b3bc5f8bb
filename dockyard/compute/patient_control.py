"""ControlAPI for agents that waits out a brief broker or conductor outage.

A report dropped on the floor would leave a record in a task state (or show a
state the container left long ago), so transient failures are retried with
backoff; only an outage longer than ``patience`` gives up and lets the
reconciler repair the record later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from dockyard.domain.errors import Unavailable
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.host_agent import HostAgent
from dockyard.domain.image_records import ImageRecord
from dockyard.domain.models import Container
from dockyard.domain.networks import HostNetwork
from dockyard.domain.volumes import HostVolumes
from dockyard.observability.metrics import RPC_RETRIES
from dockyard.rpc.api import ControlAPI
from dockyard.rpc.messages import (
    ContainerReport,
    EventReport,
    HostImages,
    HostReport,
    ImageReport,
)

LOG = logging.getLogger(__name__)
T = TypeVar("T")


class PatientControl:
    def __init__(
        self,
        inner: ControlAPI,
        patience: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.patience = patience
        self.sleep = sleep
        self.clock = clock

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        deadline = self.clock() + self.patience
        delay = 0.5
        while True:
            try:
                return fn()
            except Unavailable as exc:
                if self.clock() + delay > deadline:
                    raise
                LOG.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
                RPC_RETRIES.labels(what).inc()
                self.sleep(delay)
                delay = min(delay * 2, 10.0)

    def report(self, message: ContainerReport) -> bool:
        return self._call("report", lambda: self.inner.report(message))

    def settle(self, message: ContainerReport) -> None:
        # Sending it is retried like a call; once the broker has it, a conductor applies
        # it (retrying a database outage itself) or the reconciliation repairs its loss.
        self._call("settle", lambda: self.inner.settle(message))

    def record_event(self, message: EventReport) -> None:
        self._call("record_event", lambda: self.inner.record_event(message))

    def container_removed(self, uuid: str) -> None:
        self._call("container_removed", lambda: self.inner.container_removed(uuid))

    def report_host(self, message: HostReport) -> None:
        # Heartbeats are periodic: the next one replaces a lost one, so never wait.
        self.inner.report_host(message)

    def resize_claim(self, uuid: str, cpu: float, memory_mib: int) -> bool:
        return self._call("resize_claim", lambda: self.inner.resize_claim(uuid, cpu, memory_mib))

    def containers_on_host(self, host: str) -> list[Container]:
        return self._call("containers_on_host", lambda: self.inner.containers_on_host(host))

    def container(self, uuid: str) -> Container | None:
        return self._call("container", lambda: self.inner.container(uuid))

    def spend_console_token(self, token: str, uuid: str, exec_id: str | None) -> bool:
        # A client is waiting in its handshake: an outage refuses it rather than hanging it.
        return self.inner.spend_console_token(token, uuid, exec_id)

    def installation(self) -> str:
        return self._call("installation", self.inner.installation)

    def claim_host(self, agent: HostAgent, stale_after: float) -> HostAgent | None:
        # Renewed with every heartbeat: the next renewal replaces a lost one.
        return self.inner.claim_host(agent, stale_after)

    def release_host(self, agent: HostAgent) -> None:
        # Said once on the way out, never waited for: an unreleased claim lapses by itself.
        self.inner.release_host(agent)

    def report_image(self, message: ImageReport) -> bool:
        if message.progress is not None and message.status == "pulling":
            # Progress is superseded by the next report within seconds: never wait for it.
            return self.inner.report_image(message)
        return self._call("report_image", lambda: self.inner.report_image(message))

    def sync_images(self, message: HostImages) -> None:
        # Periodic: the next reconciliation sends the whole inventory again.
        self.inner.sync_images(message)

    def image_records(self, host: str) -> list[ImageRecord]:
        # Periodic too: a garbage collection that cannot ask waits for its next turn.
        return self.inner.image_records(host)

    def host_networks(self, host: str) -> list[HostNetwork]:
        return self._call("host_networks", lambda: self.inner.host_networks(host))

    def host_firewall(self, host: str) -> HostFirewall:
        return self._call("host_firewall", lambda: self.inner.host_firewall(host))

    def host_volumes(self, host: str) -> HostVolumes:
        return self._call("host_volumes", lambda: self.inner.host_volumes(host))

    def volumes_removed(self, host: str, volume_ids: list[str]) -> None:
        self._call("volumes_removed", lambda: self.inner.volumes_removed(host, volume_ids))

    def network_detached(self, uuid: str, network_id: str) -> None:
        self._call("network_detached", lambda: self.inner.network_detached(uuid, network_id))
