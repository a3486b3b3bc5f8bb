"""An in-memory ``ControlAPI`` that records everything agents tell it.

Reports are applied with the guard semantics of ``dockyard.service.control``:
``ANY_TASK`` applies unconditionally, None only while the record has no task
state, a task state only while the record's task state is it. A report for a
missing record fails like a failed guard.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dockyard.domain.clock import Clock
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.host_agent import HostAgent
from dockyard.domain.image_records import ImageRecord
from dockyard.domain.models import Container
from dockyard.domain.networks import HostNetwork
from dockyard.domain.reports import ANY_TASK, TaskGuard
from dockyard.domain.volumes import HostVolumes
from dockyard.rpc.messages import (
    ContainerReport,
    EventReport,
    HostImages,
    HostReport,
    ImageReport,
)

#: The installation a fake control side serves, and its agents label with.
INSTALLATION = "9e0c3a5e-5d1f-4b55-8d2c-0f6a3c1e7b21"

#: Called after each report is handled, with the control, the report and whether it applied.
ReportHook = Callable[["RecordingControl", ContainerReport, bool], None]


@dataclass(frozen=True)
class Handled:
    report: ContainerReport
    applied: bool


class RecordingControl:
    """Holds ``Container`` records in memory and logs every report, event and removal."""

    def __init__(self, containers: Iterable[Container] = (), clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.containers: dict[str, Container] = {c.uuid: c for c in containers}
        self.handled: list[Handled] = []
        self.events: list[EventReport] = []
        self.hosts: list[HostReport] = []
        self.removed: list[str] = []
        self.released: dict[str, int] = {}
        self.installation_id = INSTALLATION
        #: host -> (agent holding it, clock reading of its last renewal)
        self.holders: dict[str, tuple[HostAgent, float]] = {}
        self.on_report: list[ReportHook] = []
        self.refuse_resize: Exception | None = None
        self.console_tokens: dict[str, tuple[str, str | None]] = {}
        #: Image reports received, and the image records they apply to (uuid -> pulling?).
        self.image_reports: list[ImageReport] = []
        self.pulling: set[str] = set()
        self.host_images: list[HostImages] = []
        #: What ``image_records`` answers, per host.
        self.records: dict[str, list[ImageRecord]] = {}
        #: host -> what the records say it must hold and enforce.
        self.networks: dict[str, list[HostNetwork]] = {}
        self.firewalls: dict[str, HostFirewall] = {}
        self.volumes: dict[str, HostVolumes] = {}
        self.removed_volumes: list[str] = []
        #: (container, network) pairs agents reported unplugged.
        self.detached: list[tuple[str, str]] = []
        self._lock = threading.RLock()

    # -- test helpers -----------------------------------------------------

    def add(self, container: Container) -> Container:
        with self._lock:
            self.containers[container.uuid] = container
        return container

    @property
    def reports(self) -> list[ContainerReport]:
        """Every report received, applied or not, in order."""
        return [h.report for h in self.handled]

    @property
    def applied(self) -> list[ContainerReport]:
        return [h.report for h in self.handled if h.applied]

    def task_states(self) -> list[object]:
        """The task_state value of each report that set one, in order."""
        return [r.change.task for r in self.reports if r.change.task is not ANY_TASK]

    def release_count(self, uuid: str) -> int:
        return self.released.get(uuid, 0)

    # -- ControlAPI -------------------------------------------------------

    def report(self, message: ContainerReport) -> bool:
        with self._lock:
            record = self.containers.get(message.uuid)
            applied = record is not None and self._guard_holds(record, message.expect)
            if applied:
                assert record is not None
                for key, value in message.change.fields().items():
                    setattr(record, key, value)
                record.updated_at = self.clock.now()
                if message.release_claim:
                    self.released[message.uuid] = self.released.get(message.uuid, 0) + 1
                    record.claimed = False
                if message.event is not None:
                    self.events.append(message.event)
            self.handled.append(Handled(message, applied))
        for hook in list(self.on_report):
            hook(self, message, applied)
        return applied

    def settle(self, message: ContainerReport) -> None:
        self.report(message)

    @staticmethod
    def _guard_holds(record: Container, expect: TaskGuard) -> bool:
        return expect is ANY_TASK or record.task_state == expect

    def record_event(self, message: EventReport) -> None:
        with self._lock:
            self.events.append(message)

    def container_removed(self, uuid: str) -> None:
        with self._lock:
            self.removed.append(uuid)
            self.containers.pop(uuid, None)

    def report_host(self, message: HostReport) -> None:
        with self._lock:
            self.hosts.append(message)

    def resize_claim(self, uuid: str, cpu: float, memory_mib: int) -> bool:
        """Store the limits; ``refuse_resize`` (an error) simulates a host without room."""
        with self._lock:
            if self.refuse_resize is not None:
                raise self.refuse_resize
            record = self.containers.get(uuid)
            if record is None:
                return False
            record.cpu, record.memory = cpu, memory_mib
            return True

    def containers_on_host(self, host: str) -> list[Container]:
        with self._lock:
            return [dataclasses.replace(c) for c in self.containers.values() if c.host == host]

    def container(self, uuid: str) -> Container | None:
        return self.containers.get(uuid)

    def spend_console_token(self, token: str, uuid: str, exec_id: str | None) -> bool:
        """Spend one of ``console_tokens`` (token -> (uuid, exec_id)), once."""
        with self._lock:
            if self.console_tokens.get(token) != (uuid, exec_id):
                return False
            del self.console_tokens[token]
            return True

    def installation(self) -> str:
        return self.installation_id

    def claim_host(self, agent: HostAgent, stale_after: float) -> HostAgent | None:
        with self._lock:
            now = self.clock.monotonic()
            held = self.holders.get(agent.host)
            if held is not None and held[0].token != agent.token and now - held[1] < stale_after:
                return held[0]
            self.holders[agent.host] = (agent, now)
            return None

    def release_host(self, agent: HostAgent) -> None:
        with self._lock:
            held = self.holders.get(agent.host)
            if held is not None and held[0].token == agent.token:
                del self.holders[agent.host]

    def report_image(self, message: ImageReport) -> bool:
        """Applies while the record (in ``pulling``) is still pulling."""
        with self._lock:
            self.image_reports.append(message)
            applied = message.uuid in self.pulling
            if applied and message.status != "pulling":
                self.pulling.discard(message.uuid)
            return applied

    def sync_images(self, message: HostImages) -> None:
        with self._lock:
            self.host_images.append(message)

    def image_records(self, host: str) -> list[ImageRecord]:
        with self._lock:
            return list(self.records.get(host, []))

    def host_networks(self, host: str) -> list[HostNetwork]:
        with self._lock:
            return list(self.networks.get(host, []))

    def host_firewall(self, host: str) -> HostFirewall:
        with self._lock:
            return self.firewalls.get(host, HostFirewall())

    def host_volumes(self, host: str) -> HostVolumes:
        with self._lock:
            return self.volumes.get(host, HostVolumes())

    def volumes_removed(self, host: str, volume_ids: list[str]) -> None:
        with self._lock:
            self.removed_volumes.extend(volume_ids)

    def network_detached(self, uuid: str, network_id: str) -> None:
        with self._lock:
            self.detached.append((uuid, network_id))
