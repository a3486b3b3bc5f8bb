"""The local volume backend's control side: Dockyard's own volume records.

Records and rules only; which host realises a volume, and when, is the create
flow's and the reconcile loop's business (``VolumeHost`` on each agent).
"""

from __future__ import annotations

import dataclasses
import uuid as uuidlib

from dockyard.db.repositories.volumes import VolumeRepository
from dockyard.domain.volumes import (
    HostVolume,
    MountLimits,
    Volume,
    VolumeAttachment,
    VolumeStatus,
    check_volume_name,
    new_volume,
)
from dockyard.drivers.volume.base import VolumeDriver


class LocalVolumeDriver(VolumeDriver):
    """Volumes kept in Dockyard's database; their data lives on one host each."""

    def __init__(self, volumes: VolumeRepository, limits: MountLimits | None = None) -> None:
        self.volumes = volumes
        self.limits = limits or MountLimits()

    def create(
        self, project_id: str, size_gib: int, name: str = "", *, auto_remove: bool = False
    ) -> Volume:
        volume = new_volume(
            id=str(uuidlib.uuid4()),
            project_id=project_id,
            size=size_gib,
            name=name,
            limits=self.limits,
        )
        return self.volumes.create(dataclasses.replace(volume, auto_remove=auto_remove))

    def find(self, project_id: str, name_or_id: str) -> Volume:
        return self.volumes.find(project_id, name_or_id)

    def list_volumes(self, project_id: str) -> tuple[Volume, ...]:
        return self.volumes.list_volumes(project_id)

    def placed(self, volume_id: str, host: str) -> Volume:
        return self.volumes.placed(volume_id, host)

    def attach(self, project_id: str, volume_id: str, attachment: VolumeAttachment) -> Volume:
        return self.volumes.attach(project_id, volume_id, attachment)

    def held_by(self, container_id: str) -> tuple[Volume, ...]:
        return self.volumes.attachments_of(container_id)

    def detach(self, volume_id: str, container_id: str) -> None:
        self.volumes.detach(volume_id, container_id)

    def delete(self, project_id: str, volume_id: str) -> Volume:
        return self.volumes.delete(project_id, volume_id)

    def forget(self, volume_id: str) -> None:
        self.volumes.forget(volume_id)

    def volumes_for_host(self, host: str) -> tuple[HostVolume, ...]:
        return self.volumes.volumes_for_host(host)

    def deleting_on_host(self, host: str) -> tuple[str, ...]:
        return self.volumes.deleting_on_host(host)

    def create_available(
        self, project_id: str, size_gib: int, name: str = "", description: str = ""
    ) -> Volume:
        volume = new_volume(
            id=str(uuidlib.uuid4()),
            project_id=project_id,
            size=size_gib,
            name=name,
            limits=self.limits,
        )
        return self.volumes.create(
            dataclasses.replace(volume, status=VolumeStatus.AVAILABLE, description=description)
        )

    def discard(self, project_id: str, volume_id: str) -> Volume:
        volume = self.volumes.delete(project_id, volume_id)
        if not volume.host:  # no data anywhere: nothing for a host to remove
            self.volumes.forget(volume.id)
        return volume

    def list_all_volumes(self) -> tuple[Volume, ...]:
        return self.volumes.list_all_volumes()

    def get(self, volume_id: str) -> Volume:
        return self.volumes.get(volume_id)

    def describe(self, volume_id: str, name: str, description: str) -> Volume:
        if name:
            check_volume_name(name)
        return self.volumes.describe(volume_id, name, description)
