"""Cinder's JSON shapes: the version documents, volumes (summary and detail), limits.

Attributes Dockyard has no notion of show the value a Cinder volume without
that feature has (no snapshot, no image, no encryption, no replication).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from dockyard.api.block_storage import microversion
from dockyard.api.block_storage.parse import DEFAULT_TYPE
from dockyard.domain.volumes import Volume

PREFIX: Final = "/volume"
VERSION_PATH: Final = f"{PREFIX}/v3"
#: The version documents, served without a token as Cinder serves them.
VERSION_DOCUMENTS: Final = frozenset({PREFIX, VERSION_PATH})
UPDATED: Final = "2022-08-31T00:00:00Z"
MEDIA_TYPE: Final = "application/vnd.openstack.volume+json;version=3"


def v3_version(host_url: str) -> dict[str, Any]:
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": microversion.text(microversion.MAX_VERSION),
        "min_version": microversion.text(microversion.MIN_VERSION),
        "updated": UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": f"{host_url}{VERSION_PATH}/"},
        ],
        "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
    }


def _timestamp(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _links(volume: Volume, host_url: str) -> list[dict[str, str]]:
    path = f"{volume.project_id}/volumes/{volume.id}"
    return [
        {"rel": "self", "href": f"{host_url}{VERSION_PATH}/{path}"},
        {"rel": "bookmark", "href": f"{host_url}{PREFIX}/{path}"},
    ]


def _attachment_id(volume_id: str, container_id: str) -> str:
    """A stable id for a container's hold on a volume (Dockyard keeps no attachment ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dockyard:attachment:{volume_id}:{container_id}"))


def summary(volume: Volume, host_url: str) -> dict[str, Any]:
    return {"id": volume.id, "name": volume.name, "links": _links(volume, host_url)}


def detail(volume: Volume, host_url: str, zone: str, admin: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": volume.id,
        "name": volume.name,
        "description": volume.description or None,
        "status": volume.status.value,
        "size": volume.size_gib,
        "availability_zone": zone,
        "created_at": _timestamp(volume.created_at),
        "updated_at": _timestamp(volume.updated_at),
        "attachments": [
            {
                "id": volume.id,
                "attachment_id": _attachment_id(volume.id, a.container_id),
                "volume_id": volume.id,
                "server_id": a.container_id,
                "host_name": a.host,
                "device": a.destination,
                "attached_at": None,
            }
            for a in volume.attachments
        ],
        "bootable": "false",
        "encrypted": False,
        "multiattach": False,
        "metadata": {},
        "volume_type": DEFAULT_TYPE,
        "snapshot_id": None,
        "source_volid": None,
        "consistencygroup_id": None,
        "group_id": None,
        "provider_id": None,
        "service_uuid": None,
        "shared_targets": False,
        "replication_status": None,
        "user_id": None,
        "os-vol-tenant-attr:tenant_id": volume.project_id,
        "links": _links(volume, host_url),
    }
    if admin:  # Cinder shows where a volume lives to admins only
        view["os-vol-host-attr:host"] = volume.host or None
        view["os-vol-mig-status-attr:migstat"] = None
        view["os-vol-mig-status-attr:name_id"] = None
    return view


def absolute_limits(limit_gib: int, used_gib: int, volumes: int) -> dict[str, Any]:
    """``/limits``: the ``disk`` quota is the volumes' gigabytes (-1: unlimited)."""
    return {
        "limits": {
            "rate": [],
            "absolute": {
                "maxTotalVolumeGigabytes": limit_gib,
                "totalGigabytesUsed": used_gib,
                "maxTotalVolumes": -1,
                "totalVolumesUsed": volumes,
                "maxTotalSnapshots": 0,
                "totalSnapshotsUsed": 0,
                "maxTotalBackups": 0,
                "totalBackupsUsed": 0,
                "maxTotalBackupGigabytes": 0,
                "totalBackupGigabytesUsed": 0,
            },
        }
    }
