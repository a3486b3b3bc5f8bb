"""The files of a create's ``bind`` mounts, as one tar stream to extract at the container's root.

Zun's ``type: bind`` injects a file whose content the request carries. Dockyard
extracts them into the created container before it starts (the runtime's
``put_archive`` at ``/``), so no host file has to outlive or follow the
container. Pure: the archive is built in memory (bind files are small, bounded
by ``[volume] maximum_bind_size`` each).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence

from dockyard.domain.volumes import MountRequest, MountType

#: Mode of an injected file: readable by every user of the container, as a bind would be.
FILE_MODE = 0o644


def bind_archive(mounts: Sequence[MountRequest], mtime: float = 0.0) -> bytes | None:
    """A tar of the bind mounts' files at their destinations; None when there are none.

    Only regular file entries: the engine makes missing parent directories
    (owned by root) and leaves existing ones as they are.
    """
    binds = [m for m in mounts if m.type is MountType.BIND]
    if not binds:
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for mount in binds:
            content = mount.content or b""
            entry = tarfile.TarInfo(mount.destination.lstrip("/"))
            entry.size, entry.mode, entry.mtime = len(content), FILE_MODE, int(mtime)
            archive.addfile(entry, io.BytesIO(content))
    return buffer.getvalue()
