"""The volume step of a container's life: resolve a create's ``mounts``, hold the volumes
while the container lives, give them back (or remove them) when it goes.

A create resolves its mounts before anything is made (``plan``: unknown or
foreign volumes 404, held ones 409, nothing changed), then, once the container
is claimed on a host, records the volumes it creates and the attachments
(``claim``), undoing exactly that on any failure. Volumes a create made
(``auto_remove``) go with the container; named ones are only detached.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockyard.db.repositories.container_files import ContainerFileRepository
from dockyard.domain.errors import InvalidState
from dockyard.domain.volumes import (
    HostMount,
    HostVolume,
    HostVolumes,
    MountRequest,
    MountType,
    Volume,
    VolumeAttachment,
    VolumeStatus,
    ensure_attachable,
)
from dockyard.drivers.volume.base import VolumeDriver

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class VolumePlan:
    """A create's mounts, resolved: each volume mount with its existing volume (None: new)."""

    volumes: tuple[tuple[MountRequest, Volume | None], ...] = ()
    binds: tuple[MountRequest, ...] = ()

    @property
    def new_gib(self) -> int:
        """GiB of the volumes the create makes: its host's disk and the project's quota."""
        return sum(m.size_gib or 0 for m, v in self.volumes if v is None)

    @property
    def host_gib(self) -> int:
        """GiB the create takes on its host's disk: every volume not placed yet."""
        return sum(
            m.size_gib or 0 if v is None else v.size_gib
            for m, v in self.volumes
            if v is None or not v.host
        )

    @property
    def host(self) -> str | None:
        """The host the named volumes' data lives on (local volumes do not move)."""
        hosts = {v.host for _, v in self.volumes if v is not None and v.host}
        return next(iter(hosts)) if hosts else None

    @property
    def needs_volumes(self) -> bool:
        return bool(self.volumes)


class ContainerVolumes:
    def __init__(self, driver: VolumeDriver, files: ContainerFileRepository | None = None) -> None:
        self.driver = driver
        #: Where a container's injected files are kept for its rebuilds.
        self.files = files

    def plan(
        self, project_id: str, mounts: Sequence[MountRequest], requested_host: str | None
    ) -> VolumePlan:
        """Find the named volumes and check they can be attached; changes nothing."""
        volumes: list[tuple[MountRequest, Volume | None]] = []
        for mount in mounts:
            if mount.type is not MountType.VOLUME:
                continue
            if mount.source is None:
                volumes.append((mount, None))
                continue
            found = self.driver.find(project_id, mount.source)
            # A volume no host realised yet (made through the block-storage API) is
            # realised on the container's host.
            unplaced = not found.host and found.status is VolumeStatus.CREATING
            checked = (
                dataclasses.replace(found, status=VolumeStatus.AVAILABLE) if unplaced else found
            )
            ensure_attachable(checked, project_id)
            volumes.append((mount, found))
        plan = VolumePlan(tuple(volumes), tuple(m for m in mounts if m.type is MountType.BIND))
        hosts = sorted({v.host for _, v in plan.volumes if v is not None and v.host})
        if len(hosts) > 1:
            raise InvalidState(
                f"mounts: the volumes live on different hosts ({', '.join(hosts)}); "
                "a container can only use volumes of one host.",
                field="mounts",
            )
        if hosts and requested_host and hosts[0] != requested_host:
            raise InvalidState(
                f"mounts: the volumes live on host {hosts[0]}, not on the requested host "
                f"{requested_host}.",
                field="mounts",
            )
        return plan

    def claim(
        self, plan: VolumePlan, project_id: str, container_id: str, host: str
    ) -> tuple[HostMount, ...]:
        """Create the plan's new volumes on ``host`` and attach every volume to the container.

        On any failure (quota, host disk, a volume taken meanwhile) what this call
        recorded is undone and the error raised: named volumes are left as they were.
        """
        made: list[Volume] = []
        attached: list[str] = []
        mounts: list[HostMount] = []
        try:
            for mount, existing in plan.volumes:
                volume = existing
                if volume is None:
                    volume = self.driver.create(project_id, mount.size_gib or 0, auto_remove=True)
                    made.append(volume)
                # Never realised: its first host makes (and formats) it.
                new = not volume.host
                if new:
                    volume = self.driver.placed(volume.id, host)
                attachment = VolumeAttachment(container_id, host, mount.destination)
                volume = self.driver.attach(project_id, volume.id, attachment)
                attached.append(volume.id)
                mounts.append(HostMount(HostVolume.of(volume, new), mount.destination))
        except Exception:
            for volume_id in attached:
                self.driver.detach(volume_id, container_id)
            for volume in made:
                self.driver.forget(volume.id)
            raise
        if plan.binds and self.files is not None:
            self.files.keep(container_id, plan.binds)
        return tuple(mounts)

    def mounts_of(self, container_id: str) -> tuple[HostMount, ...]:
        """The container's volumes as its host mounts them (a rebuild keeps them)."""
        return tuple(
            HostMount(HostVolume.of(volume), attachment.destination)
            for volume in self.driver.held_by(container_id)
            for attachment in volume.attachments
            if attachment.container_id == container_id
        )

    def files_of(self, container_id: str) -> tuple[MountRequest, ...]:
        """The files the container's create injected (a rebuild injects them again)."""
        return self.files.of(container_id) if self.files is not None else ()

    def release(self, container_id: str, realised: bool = True) -> None:
        """The container is gone (or its create failed): detach its volumes; those it
        created are removed. ``realised``: their data may exist on the host, whose agent
        removes it (the records are marked ``deleting``); otherwise the records go now."""
        if self.files is not None:
            self.files.forget(container_id)
        for volume in self.driver.held_by(container_id):
            self.driver.detach(volume.id, container_id)
            if not volume.auto_remove:
                continue
            if realised and volume.host:
                self.driver.delete(volume.project_id, volume.id)
            else:
                self.driver.forget(volume.id)

    def for_host(self, host: str) -> HostVolumes:
        return HostVolumes(self.driver.volumes_for_host(host), self.driver.deleting_on_host(host))

    def removed(self, volume_ids: Iterable[str]) -> None:
        """Their host removed their data: the records go, and their GiB with them."""
        for volume_id in volume_ids:
            self.driver.forget(volume_id)
            LOG.info("volume %s removed", volume_id)
