"""The control side's repair of what no agent can repair: creates stranded on a down host.

A create cast to a host whose agent died waits in that host's queue; if the
agent never returns, nobody would ever end the record. Once the host has been
down and the record untouched for ``lost_create_after``, the record ends in
Error and gives back what its create held: claim and quota, and, through
``release`` (the conductor's ``ControlService.failed_create``), its ports and the
volumes it made, its named volumes detached. If the agent does come back and picks
the create up, it finds the record ended and removes what it made.

A host's heartbeats reach the database through this very process: while the
conductor cannot write (its database unreachable) or has just started (the
heartbeats sent while it was down went nowhere), every host looks down though its
agent is working. So the sweeper judges nobody until ``grace`` (a heartbeat's
chance to land: ``service_down_time``) has passed since it started and since it
last failed to read the database, or read it only slowly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.domain.clock import Clock
from dockyard.domain.models import Container, Host
from dockyard.domain.reports import ContainerChange
from dockyard.domain.states import Status, TaskState

LOG = logging.getLogger(__name__)

#: A read of the hosts that takes this share of the grace means the database was out
#: of reach meanwhile (it normally takes milliseconds).
SLOW_SHARE = 0.25

#: Task states of a create no agent has finished yet.
_CREATING = frozenset({TaskState.CONTAINER_CREATING, TaskState.IMAGE_PULLING})


@dataclasses.dataclass(frozen=True)
class Swept:
    uuid: str
    host: str


class DownHostSweeper:
    def __init__(
        self,
        containers: ContainerRepository,
        hosts: HostRepository,
        lost_create_after: dt.timedelta,
        clock: Clock | None = None,
        grace: dt.timedelta = dt.timedelta(0),
        release: Callable[[str], object] | None = None,
    ) -> None:
        self.containers = containers
        #: What an ended create gives back (default: its claim and quota only).
        self.release = release or containers.release_claim
        self.hosts = hosts
        self.lost_create_after = lost_create_after
        self.clock = clock or containers.db.clock
        self.grace = grace.total_seconds()
        self._blind_at = self.clock.monotonic()

    def run(self) -> list[Swept]:
        """One pass: end every create stranded on a down host; what was ended.

        The hosts are read on every pass, in the grace too: a failed read, or one that
        hung for a good part of the grace (a connection waiting for the database to
        come back), starts the grace again.
        """
        started = self.clock.monotonic()
        try:
            hosts = self.hosts.all()
        except Exception:
            self._blind_at = self.clock.monotonic()
            raise
        read = self.clock.monotonic()
        if read - started > self.grace * SLOW_SHARE:
            self._blind_at = read
        if read - self._blind_at < self.grace:
            return []
        try:
            return self._sweep(hosts)
        except Exception:
            self._blind_at = self.clock.monotonic()
            raise

    def _sweep(self, hosts: list[Host]) -> list[Swept]:
        swept = []
        for host in hosts:
            if host.up:
                continue
            for record in self.containers.on_host(host.name):
                if self._stranded(record) and self._end(record, host):
                    swept.append(Swept(record.uuid, host.name))
        return swept

    def _stranded(self, record: Container) -> bool:
        touched = record.updated_at or record.created_at
        return (
            record.status is Status.CREATING
            and record.task_state in _CREATING
            and touched is not None
            and self.clock.now() - touched > self.lost_create_after
        )

    def _end(self, record: Container, host: Host) -> bool:
        seen = host.last_seen.strftime("%Y-%m-%d %H:%M:%S") if host.last_seen else "never"
        reason = (
            f"Host {host.name} went down (last heartbeat {seen} UTC) before it created "
            "the container; delete it and create it again."
        )
        change = ContainerChange.failed(reason)
        if not self.containers.apply(record.uuid, change, expect=record.task_state):
            return False  # the agent, or a delete, got to it first
        self.release(record.uuid)
        LOG.warning("create of %s ended: host %s is down", record.uuid, host.name)
        return True
