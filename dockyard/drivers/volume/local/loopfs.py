"""Sized filesystems in files: a sparse file, ext4 made in it once, loop-mounted.

The size of the file is the size of the filesystem, so a volume can never hold
more than it was given (a write past it fails with ENOSPC in the container).
A file is formatted only while it is new and invisible (under a temporary
name), so a file that exists under its own name always holds a filesystem and
is never formatted again, whatever crashed or rebooted in between.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from dockyard.domain.errors import DriverError, VolumeInUse

#: Runs a command and returns its stdout; raises ``CommandFailed``.
Runner = Callable[[Sequence[str]], str]

#: ext4 needs a few MiB for its metadata and journal.
MIN_SIZE: Final = 8 * 1024 * 1024
_MOUNT_OPTIONS: Final = "loop,nosuid,nodev"


class CommandFailed(DriverError):
    """A host command ended in failure; ``stderr`` says why."""

    def __init__(self, detail: str, stderr: str = "") -> None:
        super().__init__(detail)
        self.stderr = stderr


def run(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandFailed(f"{argv[0]} could not run: {exc}") from exc
    if done.returncode != 0:
        stderr = done.stderr.strip()
        raise CommandFailed(f"{' '.join(argv)} failed ({done.returncode}): {stderr}", stderr)
    return done.stdout


class LoopFilesystems:
    """Makes, mounts and removes loop-mounted ext4 filesystems kept in files."""

    def __init__(
        self,
        *,
        loop_control: str = "/dev/loop-control",
        mkfs: str = "mkfs.ext4",
        runner: Runner = run,
        euid: Callable[[], int] = os.geteuid,
    ) -> None:
        self.loop_control = loop_control
        self.mkfs = mkfs
        self.runner = runner
        self.euid = euid

    def unusable_because(self) -> str | None:
        """Why this host cannot make loop-mounted filesystems, or None when it can."""
        if self.euid() != 0:
            return "the agent does not run as root, which loop devices and mounts need"
        if not os.path.exists(self.loop_control):
            return f"{self.loop_control} is missing: the kernel offers no loop devices"
        for tool, package in ((self.mkfs, "e2fsprogs"), ("mount", "mount"), ("umount", "mount")):
            if shutil.which(tool) is None:
                return f"{tool} is not installed (package {package})"
        if shutil.which("losetup") is None:
            return "losetup is not installed (package mount)"
        return None

    def make(self, image: Path, size_bytes: int) -> None:
        """A new file of ``size_bytes`` holding an empty ext4 filesystem, at ``image``.

        Formatted under a temporary name and renamed into place, so ``image``
        never names an unformatted file. ``image`` existing → ``FileExistsError``.
        """
        if image.exists():
            raise FileExistsError(errno.EEXIST, "volume file exists", str(image))
        fresh = new_name(image)
        fresh.unlink(missing_ok=True)  # a crash's leftover: never visible, never mounted
        try:
            with open(fresh, "xb") as handle:
                handle.truncate(size_bytes)  # sparse: takes no room until written
            self.runner([self.mkfs, "-q", "-F", "-m", "0", "-E", "nodiscard", str(fresh)])
            with open(fresh, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(fresh, image)
            _sync_directory(image.parent)
        except BaseException:
            fresh.unlink(missing_ok=True)
            raise

    def mount(self, image: Path, mountpoint: Path) -> None:
        """Mount the filesystem in ``image`` at ``mountpoint`` (already mounted: nothing).

        The empty directory under the mount is made immutable first (where the
        host's filesystem allows it): should the engine start a container on
        the volume before the filesystem is mounted again (after a reboot), its
        writes fail instead of landing, unbounded, on the host's disk.
        """
        mountpoint.mkdir(parents=True, exist_ok=True)
        if os.path.ismount(mountpoint):
            return
        self._set_immutable(mountpoint, True)
        # The kernel frees the loop device by itself when it is unmounted.
        self.runner(["mount", "-t", "ext4", "-o", _MOUNT_OPTIONS, str(image), str(mountpoint)])

    def unmount(self, mountpoint: Path) -> None:
        """Unmount ``mountpoint`` (not mounted: nothing). Still used → ``VolumeInUse``."""
        if not os.path.ismount(mountpoint):
            return
        try:
            self.runner(["umount", str(mountpoint)])
        except CommandFailed as exc:
            if "busy" in exc.stderr:
                raise VolumeInUse(f"{mountpoint} is still in use on this host.") from exc
            raise

    def remove_mountpoint(self, mountpoint: Path) -> None:
        """Remove the (unmounted) directory a filesystem was mounted at. Absent → nothing."""
        if not mountpoint.exists() or os.path.ismount(mountpoint):
            return
        self._set_immutable(mountpoint, False)
        try:
            mountpoint.rmdir()
        except OSError as exc:
            raise DriverError(f"Mount point {mountpoint} cannot be removed: {exc}") from exc

    def _set_immutable(self, directory: Path, immutable: bool) -> None:
        if shutil.which("chattr") is None:
            return
        with contextlib.suppress(CommandFailed):  # a filesystem without the attribute
            self.runner(["chattr", "+i" if immutable else "-i", str(directory)])

    def release(self, image: Path) -> None:
        """Detach any loop device still backed by ``image`` (one not auto-cleared)."""
        if not image.exists():
            return
        listed = self.runner(["losetup", "--noheadings", "--output", "NAME", "-j", str(image)])
        for device in listed.split():
            with contextlib.suppress(CommandFailed):
                self.runner(["losetup", "-d", device])


def new_name(image: Path) -> Path:
    """Where ``image`` is made before it is formatted and renamed into place."""
    return image.with_name(image.name + ".new")


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
