"""Bring a host's volumes in line with the records: one pass of the agent's reconcile loop.

After a reboot or an agent restart the volumes' files are there but not
mounted; an engine volume may have been removed behind Dockyard's back. A pass
realises every wanted volume that is not whole (never formatting existing
data), removes the data of volumes being deleted unless a container still uses
it, and reports data no record speaks of without touching it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.domain.errors import DockyardError, VolumeInUse
from dockyard.domain.states import Status
from dockyard.domain.volumes import HostMount, HostVolume
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.drivers.volume.base import VolumeHost
from dockyard.rpc.api import ControlAPI

log = logging.getLogger(__name__)

#: Seconds a container restarted onto its remounted volume gets to stop.
STALE_RESTART_TIMEOUT = 10


@dataclass(frozen=True)
class VolumeSync:
    """What one pass did, by volume id."""

    #: Wanted volumes made whole (mounted, exposed) by this pass.
    repaired: tuple[str, ...] = ()
    #: Volumes being deleted whose data this pass removed (their records may go).
    removed: tuple[str, ...] = ()
    #: Volumes being deleted that a container still uses: left for a later pass.
    held: tuple[str, ...] = ()
    #: Volumes on the host no record speaks of: reported, never removed.
    strays: tuple[str, ...] = ()
    #: Volumes a step failed for, with the reason.
    failed: tuple[tuple[str, str], ...] = ()
    #: Containers (runtime ids) that were given a volume while it was not mounted
    #: (the engine starts containers after a reboot before the agent runs): they
    #: see its empty, immutable mount point until they are restarted.
    stale_users: tuple[str, ...] = ()


def sync_volumes(
    host: VolumeHost, wanted: Sequence[HostVolume], deleting: Sequence[str]
) -> VolumeSync:
    """One pass: ``wanted`` from ``volumes_for_host``, ``deleting`` from ``deleting_on_host``."""
    present = {r.volume_id: r for r in host.realised()}
    repaired: list[str] = []
    removed: list[str] = []
    held: list[str] = []
    failed: list[tuple[str, str]] = []
    stale: set[str] = set()
    for volume in wanted:
        found = present.get(volume.volume_id)
        if found is not None and found.mounted and found.engine_name:
            continue
        try:
            now = host.realise(volume)
        except DockyardError as exc:
            log.warning("Volume %s could not be realised: %s", volume.volume_id, exc.detail)
            failed.append((volume.volume_id, exc.detail))
            continue
        repaired.append(volume.volume_id)
        if found is not None and not found.mounted:
            stale.update(now.containers)
    for volume_id in deleting:
        try:
            host.remove(volume_id)
        except VolumeInUse:
            held.append(volume_id)
            continue
        except DockyardError as exc:
            log.warning("Volume %s could not be removed: %s", volume_id, exc.detail)
            failed.append((volume_id, exc.detail))
            continue
        removed.append(volume_id)
    known = {v.volume_id for v in wanted} | set(deleting)
    strays = tuple(sorted(set(present) - known))
    for volume_id in strays:
        log.warning("Volume %s is on this host but no record names it; left alone.", volume_id)
    return VolumeSync(
        tuple(repaired), tuple(removed), tuple(held), strays, tuple(failed), tuple(sorted(stale))
    )


class HostVolumeSteps:
    """The agent's volume steps: realise a container's volumes, keep the host's in line."""

    def __init__(
        self, host: str, volumes: VolumeHost, control: ControlAPI, runtime: RuntimeDriver
    ) -> None:
        self.host = host
        self.volumes = volumes
        self.control = control
        self.runtime = runtime

    def unsupported(self) -> str:
        """Why this host cannot provide volumes of an enforced size ("" when it can)."""
        try:
            self.volumes.check()
        except DockyardError as exc:
            return exc.detail
        return ""

    def prepare(self, mounts: Sequence[HostMount]) -> None:
        """Make each volume's data exist and be mounted, before a container uses it."""
        for mount in mounts:
            self.volumes.realise(mount.volume)

    def sync(self) -> VolumeSync:
        """One pass against the records; removed volumes' records go, containers the
        engine started on an unmounted volume are restarted onto the mounted one."""
        state = self.control.host_volumes(self.host)
        done = sync_volumes(self.volumes, state.wanted, state.deleting)
        if done.removed:
            self.control.volumes_removed(self.host, list(done.removed))
        if done.stale_users:
            self._restart(set(done.stale_users))
        return done

    def _restart(self, runtime_ids: set[str]) -> None:
        for container in self.runtime.list_managed(self.host):
            if container.runtime_id in runtime_ids and container.status is Status.RUNNING:
                log.info("restarting %s: it started before its volume was mounted", container.uuid)
                try:
                    self.runtime.restart(container.uuid, STALE_RESTART_TIMEOUT)
                except DockyardError as exc:
                    log.warning("could not restart %s: %s", container.uuid, exc.detail)
