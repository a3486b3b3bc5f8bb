"""The host side of the local driver: a loop-mounted file per volume, exposed to Docker.

On disk, under ``<volumes_dir>/<installation>/<host>/`` (so installations or
hosts sharing a directory never meet): ``<volume id>.img`` holds the volume's
ext4 filesystem and ``mnt/<volume id>`` is where it is mounted. The engine
sees it as the named volume ``dockyard-volume-<volume id>`` (``local`` driver,
bind of the mount point), labelled with installation, host and volume id, so a
container mounts it by name and the engine knows which containers use it.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

import docker
import docker.errors

from dockyard.domain.errors import Conflict, InvalidInput, VolumeInUse, VolumeUnsupported
from dockyard.domain.labels import Owner
from dockyard.domain.volumes import HostVolume
from dockyard.drivers.docker_engine import engine_errors, explanation
from dockyard.drivers.volume.base import RealisedVolume, VolumeHost, engine_volume_name
from dockyard.drivers.volume.local.loopfs import MIN_SIZE, LoopFilesystems, new_name

LABEL_VOLUME_ID: Final = "dockyard.volume_id"
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_IMAGE_SUFFIX: Final = ".img"


def _path_part(value: str, what: str) -> str:
    if not _SAFE_NAME.fullmatch(value):
        raise InvalidInput(f"{what} {value!r} cannot name a file on the host.", field=what)
    return value


class LoopVolumeHost(VolumeHost):
    """Volumes of one installation's host as loop-mounted files and Docker volumes."""

    def __init__(
        self,
        client: docker.DockerClient,
        host: str,
        installation: str,
        volumes_dir: str | Path,
        filesystems: LoopFilesystems | None = None,
    ) -> None:
        self.api: Any = client.api
        self.owner = Owner(installation, host)
        self.root = (
            Path(volumes_dir) / _path_part(installation, "installation") / _path_part(host, "host")
        )
        self.filesystems = filesystems or LoopFilesystems()
        # One agent serves a host; its workers and its reconcile loop may touch a
        # volume at once, and making a file must not race another making it.
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_lock = threading.Lock()

    def _lock(self, volume_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks[volume_id]

    def _image(self, volume_id: str) -> Path:
        return self.root / (_path_part(volume_id, "volume_id") + _IMAGE_SUFFIX)

    def _mountpoint(self, volume_id: str) -> Path:
        return self.root / "mnt" / _path_part(volume_id, "volume_id")

    def _labels(self, volume_id: str) -> dict[str, str]:
        return {**self.owner.labels(), LABEL_VOLUME_ID: volume_id}

    def check(self) -> None:
        reason = self.filesystems.unusable_because()
        if reason is not None:
            raise VolumeUnsupported(
                f"mounts: host {self.owner.host} cannot enforce volume sizes: {reason}.",
                field="mounts",
                host=self.owner.host,
            )

    def realise(self, volume: HostVolume) -> RealisedVolume:
        self.check()
        with self._lock(volume.volume_id):
            return self._realise(volume)

    def _realise(self, volume: HostVolume) -> RealisedVolume:
        image, mountpoint = self._image(volume.volume_id), self._mountpoint(volume.volume_id)
        if volume.size_bytes < MIN_SIZE:
            raise InvalidInput(
                f"Volume {volume.volume_id} of {volume.size_bytes} bytes is under the "
                f"{MIN_SIZE} bytes a filesystem needs.",
                field="size",
            )
        existing = self._inspect(volume.volume_id)
        if existing is not None:
            self._check_reusable(existing, volume.volume_id, mountpoint)
        self.root.mkdir(parents=True, exist_ok=True)
        if not image.exists():
            if not volume.new:
                raise Conflict(
                    f"The data of volume {volume.volume_id} is missing on host "
                    f"{self.owner.host}; only a volume Dockyard just created is formatted.",
                    volume=volume.volume_id,
                )
            self.filesystems.make(image, volume.size_bytes)
        held = image.stat().st_size
        if held != volume.size_bytes:
            raise Conflict(
                f"Volume {volume.volume_id} holds {held} bytes on {self.owner.host}, "
                f"not {volume.size_bytes}.",
                volume=volume.volume_id,
            )
        self.filesystems.mount(image, mountpoint)
        if existing is None:
            # Just made: no container can use it yet, and the engine has just described it.
            made = self._expose(volume.volume_id, mountpoint)
            return self._describe(volume.volume_id, made, users=())
        return self._describe(volume.volume_id, existing)

    def _inspect(self, volume_id: str) -> dict[str, Any] | None:
        with engine_errors():
            try:
                return dict(self.api.inspect_volume(engine_volume_name(volume_id)))
            except docker.errors.NotFound:
                return None

    def _is_ours(self, inspected: dict[str, Any], volume_id: str) -> bool:
        labels = inspected.get("Labels") or {}
        return all(labels.get(key) == value for key, value in self._labels(volume_id).items())

    def _check_reusable(self, inspected: dict[str, Any], volume_id: str, mountpoint: Path) -> None:
        name = engine_volume_name(volume_id)
        if not self._is_ours(inspected, volume_id):
            raise Conflict(
                f"Engine volume {name} exists and is not this Dockyard's.", volume=volume_id
            )
        device = (inspected.get("Options") or {}).get("device")
        if inspected.get("Driver") != "local" or device != str(mountpoint):
            raise Conflict(
                f"Engine volume {name} points at {device!r}, not {str(mountpoint)!r}.",
                volume=volume_id,
            )

    def _expose(self, volume_id: str, mountpoint: Path) -> dict[str, Any]:
        name = engine_volume_name(volume_id)
        with engine_errors():
            try:
                self.api.create_volume(
                    name,
                    driver="local",
                    driver_opts={"type": "none", "o": "bind", "device": str(mountpoint)},
                    labels=self._labels(volume_id),
                )
            except docker.errors.APIError as exc:
                if self._inspect(volume_id) is None:
                    raise Conflict(
                        f"The engine refused volume {name}: {explanation(exc)}", volume=volume_id
                    ) from exc
        # The engine answers a create of an existing name with that volume, whatever it is.
        made = self._inspect(volume_id)
        if made is None:
            raise Conflict(f"Engine volume {name} vanished as it was made.", volume=volume_id)
        self._check_reusable(made, volume_id, mountpoint)
        return made

    def _users(self, volume_id: str) -> tuple[str, ...]:
        """Runtime ids of the containers, started or only created, that mount the volume."""
        with engine_errors():
            listed = self.api.containers(
                all=True, filters={"volume": engine_volume_name(volume_id)}
            )
        return tuple(sorted(str(c["Id"]) for c in listed))

    def remove(self, volume_id: str) -> None:
        with self._lock(volume_id):
            self._remove(volume_id)

    def _remove(self, volume_id: str) -> None:
        image, mountpoint = self._image(volume_id), self._mountpoint(volume_id)
        inspected = self._inspect(volume_id)
        ours = inspected is not None and self._is_ours(inspected, volume_id)
        if ours:
            users = self._users(volume_id)
            if users:
                raise VolumeInUse(
                    f"Volume {volume_id} is used by container(s) {', '.join(users)} on "
                    f"{self.owner.host}.",
                    volume=volume_id,
                )
            self._remove_engine_volume(volume_id)
        self.filesystems.unmount(mountpoint)
        self.filesystems.remove_mountpoint(mountpoint)
        self.filesystems.release(image)
        image.unlink(missing_ok=True)
        new_name(image).unlink(missing_ok=True)

    def _remove_engine_volume(self, volume_id: str) -> None:
        with engine_errors():
            try:
                self.api.remove_volume(engine_volume_name(volume_id))
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if exc.status_code == 409 or "in use" in explanation(exc):
                    raise VolumeInUse(explanation(exc), volume=volume_id) from exc
                raise

    def realised(self) -> tuple[RealisedVolume, ...]:
        labels = [f"{key}={value}" for key, value in self.owner.labels().items()]
        with engine_errors():
            listed = self.api.volumes(filters={"label": labels}).get("Volumes") or []
        ids = {
            str(v["Labels"][LABEL_VOLUME_ID])
            for v in listed
            if LABEL_VOLUME_ID in (v.get("Labels") or {})
        }
        if self.root.is_dir():
            names = (
                p.name.removesuffix(_IMAGE_SUFFIX) for p in self.root.glob("*" + _IMAGE_SUFFIX)
            )
            ids |= {name for name in names if _SAFE_NAME.fullmatch(name)}
        return tuple(self._describe(volume_id) for volume_id in sorted(ids))

    def _describe(
        self,
        volume_id: str,
        inspected: dict[str, Any] | None = None,
        users: tuple[str, ...] | None = None,
    ) -> RealisedVolume:
        """``inspected``/``users``: what the caller has just learnt from the engine."""
        if inspected is None:
            inspected = self._inspect(volume_id)
        exposed = inspected is not None and self._is_ours(inspected, volume_id)
        image = self._image(volume_id)
        return RealisedVolume(
            volume_id=volume_id,
            engine_name=engine_volume_name(volume_id) if exposed else "",
            size_bytes=image.stat().st_size if image.exists() else 0,
            mounted=self._mountpoint(volume_id).is_mount(),
            containers=(self._users(volume_id) if users is None else users) if exposed else (),
        )
