"""Volumes and the ``mounts`` of a create, as Dockyard records, and the checks they must pass.

Shapes follow Cinder's (so a block-storage v3 subset and a Cinder driver use the
same types): a volume has a size in GiB, a status and the attachments that hold
it. A create's ``mounts`` entry (Zun's create body, api-containers §8.1) is
either a volume (an existing one named by ``source``, or a new one of ``size``
GiB, removed with the container) or a ``bind``: a file whose base64 content is
``source``, injected at ``destination``. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dockyard.domain.errors import (
    Base64Exception,
    InvalidInput,
    InvalidState,
    VolumeInUse,
    VolumeNotFound,
)

GIB: Final = 1024**3
#: The key of a host's reported ``info`` saying why it cannot provide volumes ("": it can).
VOLUMES_UNSUPPORTED: Final = "volumes_unsupported"

#: Where a mount would hide what the image needs to run, or the kernel's own views.
SYSTEM_PATHS: Final = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/lib64",
        "/usr/local",
        "/usr/sbin",
        "/var",
        "/var/lib",
        "/var/run",
    }
)
#: Kernel filesystems the engine sets up itself: nothing may be mounted anywhere inside.
KERNEL_PATHS: Final = ("/proc", "/sys", "/dev")
#: Files the engine writes into every container at start, over anything put there.
ENGINE_FILES: Final = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"})

_MOUNT_KEYS: Final = frozenset({"type", "source", "destination", "size"})
#: A whole number as text, one sign at most ("--5" is not one: ``int`` refuses it).
_DIGITS: Final = re.compile(r"-?[0-9]+")
#: Characters the engine's mount syntax gives a meaning to, and control characters.
_UNSAFE_PATH: Final = re.compile(r"[:,\x00-\x1f\x7f]")
_MAX_PATH: Final = 4096
_MAX_NAME: Final = 255


class MountType(enum.StrEnum):
    VOLUME = "volume"
    BIND = "bind"


class VolumeStatus(enum.StrEnum):
    """Cinder's statuses, the subset Dockyard's volumes pass through."""

    CREATING = "creating"
    AVAILABLE = "available"
    IN_USE = "in-use"
    DELETING = "deleting"
    ERROR = "error"


@dataclass(frozen=True)
class MountLimits:
    """What this deployment accepts (``[volume]`` options)."""

    max_size_gib: int = 1024
    max_mounts: int = 16
    max_bind_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class VolumeAttachment:
    """One container holding a volume at a path, on a host."""

    container_id: str
    host: str
    destination: str


@dataclass(frozen=True)
class Volume:
    """A volume record. ``host`` is where its data lives ("" until first realised);
    ``auto_remove`` volumes were made by a create's ``size`` and go with their container."""

    id: str
    project_id: str
    size_gib: int
    name: str = ""
    status: VolumeStatus = VolumeStatus.AVAILABLE
    host: str = ""
    attachments: tuple[VolumeAttachment, ...] = ()
    auto_remove: bool = False
    description: str = ""
    #: When the record was made and last changed (``None`` before it is stored). Not
    #: compared: two reads of an unchanged volume are equal whenever it was touched.
    created_at: dt.datetime | None = field(default=None, compare=False)
    updated_at: dt.datetime | None = field(default=None, compare=False)

    @property
    def in_use(self) -> bool:
        return bool(self.attachments)


@dataclass(frozen=True)
class HostVolume:
    """What a host needs to realise a volume: its id and its size in bytes.

    Bytes, not GiB, so a host side can be exercised with small volumes; records
    and the API count GiB (``HostVolume.of``).
    """

    volume_id: str
    size_bytes: int
    #: Dockyard just created it and no host ever realised it: the only case in which
    #: a host may make (and format) its filesystem. Data missing for any other volume
    #: is a conflict, never silently replaced by an empty filesystem.
    new: bool = False

    @classmethod
    def of(cls, volume: Volume, new: bool = False) -> HostVolume:
        return cls(volume.id, volume.size_gib * GIB, new)


@dataclass(frozen=True)
class HostMount:
    """A volume a host realises and mounts into one container at ``destination``."""

    volume: HostVolume
    destination: str


@dataclass(frozen=True)
class HostVolumes:
    """What one host must keep (realised volumes) and remove (volumes being deleted)."""

    wanted: tuple[HostVolume, ...] = ()
    deleting: tuple[str, ...] = ()


@dataclass(frozen=True)
class MountRequest:
    """One checked ``mounts`` entry.

    ``source`` names an existing volume (type volume) or is absent when
    ``size_gib`` asks for a new one; a bind carries its decoded ``content``.
    """

    type: MountType
    destination: str
    source: str | None = None
    size_gib: int | None = None
    content: bytes | None = None

    @property
    def creates_volume(self) -> bool:
        return self.type is MountType.VOLUME and self.size_gib is not None

    @property
    def names_volume(self) -> bool:
        return self.type is MountType.VOLUME and self.source is not None


def check_destination(value: Any) -> str:
    """An absolute, normalised container path that hides nothing the container needs."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("A mount's destination must be a non-empty path.", field="destination")
    if len(value) > _MAX_PATH:
        raise InvalidInput(
            f"A mount's destination is longer than {_MAX_PATH} characters.", field="destination"
        )
    if _UNSAFE_PATH.search(value):
        raise InvalidInput(
            f"Destination {value!r} holds a ':', ',' or a control character.",
            field="destination",
        )
    if not value.startswith("/"):
        raise InvalidInput(
            f"Destination {value!r} is relative: it must start with '/'.", field="destination"
        )
    if ".." in value.split("/"):
        raise InvalidInput(f"Destination {value!r} holds '..'.", field="destination")
    path = posixpath.normpath(value)
    path = "/" + path.lstrip("/")  # normpath keeps a leading '//'
    if path in SYSTEM_PATHS:
        raise InvalidInput(
            f"Destination {value!r} would hide the system directory {path}.", field="destination"
        )
    if path in ENGINE_FILES:
        raise InvalidInput(
            f"Destination {value!r} is written by the engine when the container starts.",
            field="destination",
        )
    for root in KERNEL_PATHS:
        if path.startswith(root + "/"):
            raise InvalidInput(
                f"Destination {value!r} is inside {root}, which the engine manages.",
                field="destination",
            )
    return path


def check_size(value: Any, limits: MountLimits) -> int:
    """A volume size in GiB: a whole number (or a string of digits) from 1 to the maximum."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(f"size must be a whole number of GiB, not {value!r}.", field="size")
    if isinstance(value, str) and not _DIGITS.fullmatch(value.strip()):
        raise InvalidInput(f"size must be a whole number of GiB, not {value!r}.", field="size")
    size = int(value)
    if size < 1:
        raise InvalidInput(f"size must be at least 1 GiB, not {size}.", field="size")
    if size > limits.max_size_gib:
        raise InvalidInput(
            f"size {size} GiB is over the largest volume allowed, {limits.max_size_gib} GiB.",
            field="size",
        )
    return size


def check_volume_name(value: Any) -> str:
    """A volume name or id as ``source`` or a block-storage create gives it."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("A volume source must be a non-empty name or id.", field="source")
    if len(value) > _MAX_NAME:
        raise InvalidInput(f"A volume name is at most {_MAX_NAME} characters.", field="source")
    if _UNSAFE_PATH.search(value):
        raise InvalidInput(
            f"Volume name {value!r} holds a ':', ',' or a control character.", field="source"
        )
    return value


def decode_bind_content(value: Any, limits: MountLimits) -> bytes:
    """A bind's ``source``: strict base64 of at most ``max_bind_bytes`` decoded bytes."""
    if not isinstance(value, str):
        raise Base64Exception("A bind's source must be base64 text.", field="source")
    # 4 characters per 3 bytes: refuse an over-long value before decoding it.
    if len(value) > (limits.max_bind_bytes + 2) // 3 * 4 + 4:
        raise InvalidInput(
            f"A bind's content is over {limits.max_bind_bytes} bytes.", field="source"
        )
    try:
        content = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Base64Exception(
            "A bind's source must be the base64 encoding of the file's content.", field="source"
        ) from None
    if len(content) > limits.max_bind_bytes:
        raise InvalidInput(
            f"A bind's content is over {limits.max_bind_bytes} bytes.", field="source"
        )
    return content


def _check_type(value: Any) -> MountType:
    if value is None:
        return MountType.VOLUME
    try:
        return MountType(value)
    except ValueError:
        raise InvalidInput(
            f"A mount's type is 'volume' or 'bind', not {value!r}.", field="type"
        ) from None


def parse_mount(raw: Any, limits: MountLimits = MountLimits()) -> MountRequest:
    """One ``mounts`` entry, checked (``InvalidInput`` 400 naming the field)."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("Each mounts entry must be an object.", field="mounts")
    unknown = sorted(set(raw) - _MOUNT_KEYS)
    if unknown:
        raise InvalidInput(f"Unknown mount keys: {', '.join(map(str, unknown))}.", field="mounts")
    kind = _check_type(raw.get("type"))
    destination = check_destination(raw.get("destination"))
    source, size = raw.get("source"), raw.get("size")
    if kind is MountType.BIND:
        if size is not None:
            raise InvalidInput("A bind mount takes no size.", field="size")
        if source is None:
            raise InvalidInput("A bind mount needs its file's content as source.", field="source")
        return MountRequest(kind, destination, content=decode_bind_content(source, limits))
    if source is not None and size is not None:
        raise InvalidInput(
            "A volume mount takes either source (an existing volume) or size (a new one), "
            "not both.",
            field="mounts",
        )
    if source is None and size is None:
        raise InvalidInput(
            "A volume mount needs source (an existing volume) or size (a new one).",
            field="mounts",
        )
    if source is not None:
        return MountRequest(kind, destination, source=check_volume_name(source))
    return MountRequest(kind, destination, size_gib=check_size(size, limits))


def parse_mounts(raw: Any, limits: MountLimits = MountLimits()) -> tuple[MountRequest, ...]:
    """A create's whole ``mounts``: each entry checked, destinations and volumes distinct."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise InvalidInput("mounts must be a list.", field="mounts")
    if len(raw) > limits.max_mounts:
        raise InvalidInput(
            f"At most {limits.max_mounts} mounts per container, not {len(raw)}.", field="mounts"
        )
    mounts = tuple(parse_mount(entry, limits) for entry in raw)
    seen: set[str] = set()
    for mount in mounts:
        if mount.destination in seen:
            raise InvalidInput(
                f"Two mounts share the destination {mount.destination}.", field="destination"
            )
        seen.add(mount.destination)
    sources = [m.source for m in mounts if m.names_volume]
    for source in sources:
        if sources.count(source) > 1:
            raise InvalidInput(f"Volume {source!r} is mounted twice.", field="source")
    return mounts


def new_volume_disk_gib(mounts: Sequence[MountRequest]) -> int:
    """The GiB a create's new volumes take, counted in the project's ``disk`` quota."""
    return sum(m.size_gib or 0 for m in mounts if m.creates_volume)


def new_volume(
    *, id: str, project_id: str, size: Any, name: str = "", limits: MountLimits = MountLimits()
) -> Volume:
    """A checked volume record, ``creating`` until a host has realised it."""
    if name:
        check_volume_name(name)
    return Volume(
        id=id,
        project_id=project_id,
        size_gib=check_size(size, limits),
        name=name,
        status=VolumeStatus.CREATING,
    )


def ensure_visible(volume: Volume, project_id: str) -> Volume:
    """Another project's volume is as good as absent (404, not 403: its existence is private)."""
    if volume.project_id != project_id:
        raise VolumeNotFound(f"Volume {volume.id} not found.", volume=volume.id)
    return volume


def ensure_attachable(volume: Volume, project_id: str, host: str | None = None) -> None:
    """A volume a container of ``project_id`` may mount, on ``host`` when one is chosen.

    Not the caller's → 404; attached already → 409 ``volume-in-use`` (no
    multi-attach); not ``available`` → 409; its data on another host (local
    volumes do not move) → 409 naming it.
    """
    ensure_visible(volume, project_id)
    if volume.in_use:
        holders = ", ".join(a.container_id for a in volume.attachments)
        raise VolumeInUse(f"Volume {volume.id} is in use by {holders}.", volume=volume.id)
    if volume.status is not VolumeStatus.AVAILABLE:
        raise InvalidState(
            f"Volume {volume.id} is {volume.status}, not available.", volume=volume.id
        )
    if host and volume.host and volume.host != host:
        raise InvalidState(
            f"Volume {volume.id} lives on host {volume.host}, not {host}.", volume=volume.id
        )


def ensure_deletable(volume: Volume, project_id: str) -> None:
    """Deleting a volume some container holds → 409 ``volume-in-use``; nothing is changed."""
    ensure_visible(volume, project_id)
    if volume.in_use or volume.status is VolumeStatus.IN_USE:
        holders = ", ".join(a.container_id for a in volume.attachments) or "a container"
        raise VolumeInUse(f"Volume {volume.id} is in use by {holders}.", volume=volume.id)
    if volume.status in (VolumeStatus.CREATING, VolumeStatus.DELETING):
        raise InvalidState(f"Volume {volume.id} is {volume.status}.", volume=volume.id)
