"""The Glance image driver: docker tarballs kept in Glance, loaded into one host's engine.

An image is named by its Glance id or name. Its data is streamed to a file beside the
agent (hashed on the way, checked against Glance's ``os_hash_value`` or ``checksum``),
streamed into the engine with ``docker load``, then tagged ``glance/<id>:latest``: that
tag is the host's cache, so a later create on the host downloads nothing. A commit is
streamed out with ``docker save`` to a file, then to a new Glance image.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dockyard.domain.errors import DriverError
from dockyard.domain.image_records import LocalImage, PullProgress
from dockyard.domain.registries import RegistryAuth
from dockyard.drivers.image.base import ImageDriver, ProgressCallback
from dockyard.drivers.image.docker import DockerImages
from dockyard.drivers.image.glance_client import (
    GlanceClient,
    GlanceImage,
    check_docker,
    search_glance,
)
from dockyard.observability.metrics import GLANCE_DOWNLOADS

LOG = logging.getLogger(__name__)

#: The engine repository a Glance image is tagged with once loaded on a host.
CACHE_REPOSITORY = "glance"
#: Seconds a name's resolution to a Glance image is reused (one create asks several times).
RESOLVED_TTL = 10.0


def cache_reference(image_id: str) -> str:
    return f"{CACHE_REPOSITORY}/{image_id}:latest"


class GlanceImages(ImageDriver):
    """Fetches images from Glance into one engine; the engine's own images otherwise."""

    def __init__(self, glance: GlanceClient, engine: DockerImages, directory: Path, host: str):
        self.glance = glance
        self.engine = engine
        self.directory = directory
        self.host = host
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._resolved: dict[str, tuple[float, GlanceImage]] = {}

    # -- finding ---------------------------------------------------------------

    def _find(self, image: str) -> GlanceImage:
        now = time.monotonic()
        with self._guard:
            hit = self._resolved.get(image)
        if hit is not None and now - hit[0] < RESOLVED_TTL:
            return hit[1]
        found = self.glance.find(image)
        with self._guard:
            if len(self._resolved) > 256:
                self._resolved.clear()
            self._resolved[image] = (now, found)
        return found

    def engine_reference(self, image: str) -> str:
        return cache_reference(self._find(image).id)

    def exists_locally(self, image: str) -> bool:
        return self.engine.exists_locally(self.engine_reference(image))

    def check_remote(self, image: str, auth: RegistryAuth | None = None) -> None:
        check_docker(self._find(image), image)

    # -- fetching --------------------------------------------------------------

    def _lock(self, image_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(image_id, threading.Lock())

    def pull(
        self,
        image: str,
        auth: RegistryAuth | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        found = self._find(image)
        check_docker(found, image)
        reference = cache_reference(found.id)
        # Two creates of one image on this host: the second waits and finds it loaded.
        with self._lock(found.id):
            if self.engine.exists_locally(reference):
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.directory, prefix=f"{found.id}.", suffix=".tar")
            try:
                with os.fdopen(fd, "wb") as sink:
                    self._download(found, image, sink, progress)
                with open(name, "rb") as source:
                    loaded = self.engine.load(source)
                self.engine.tag(loaded, reference)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)
        LOG.info("loaded Glance image %s (%s) on host %s as %s", image, found.id, self.host, loaded)

    def _download(
        self, found: GlanceImage, asked: str, sink: Any, progress: ProgressCallback | None
    ) -> None:
        if found.hash_value and found.hash_algo and found.hash_algo in hashlib.algorithms_available:
            hasher, expected = hashlib.new(found.hash_algo), found.hash_value
        elif found.checksum:
            hasher, expected = hashlib.md5(usedforsecurity=False), found.checksum
        else:
            raise DriverError(
                f"Glance image '{asked}' ({found.id}) has no checksum to verify its data by"
            )
        total, done = found.size or 0, 0

        def seen(chunk: bytes) -> None:
            nonlocal done
            hasher.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(PullProgress(0, 1, done, max(total, done)))

        GLANCE_DOWNLOADS.labels(self.host).inc()
        LOG.info("downloading Glance image %s (%s, %d bytes)", asked, found.id, total)
        self.glance.download(found.id, sink, seen)
        if hasher.hexdigest() != expected:
            raise DriverError(
                f"checksum mismatch: the data of Glance image '{asked}' ({found.id}) has "
                f"{hasher.name} {hasher.hexdigest()}, Glance recorded {expected}"
            )
        if progress is not None:
            progress(PullProgress(1, 1, done, done))

    # -- committing --------------------------------------------------------------

    def publish(self, image_id: str, repository: str, tag: str) -> str:
        """Reserve a Glance image now; upload the engine's image to it in the background.

        The upload failing deletes the Glance image, so none is left ``queued`` for ever.
        """
        made = self.glance.reserve(repository, (tag,))
        worker = threading.Thread(
            target=self._upload,
            args=(image_id, made.id),
            name=f"glance-upload-{made.id[:8]}",
            daemon=True,
        )
        worker.start()
        return made.id

    def _upload(self, image_id: str, glance_id: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.directory) as spool:
                self.engine.save(image_id, spool)
                size = spool.tell()
                spool.seek(0)
                self.glance.upload(glance_id, spool, size)
            LOG.info("uploaded engine image %s to Glance image %s", image_id, glance_id)
        except Exception as exc:
            LOG.warning("upload of %s to Glance image %s failed: %s", image_id, glance_id, exc)
            with contextlib.suppress(Exception):
                self.glance.delete(glance_id)

    # -- the rest is the engine's ----------------------------------------------

    def local_images(self) -> list[LocalImage]:
        return self.engine.local_images()

    def inspect(self, image: str) -> LocalImage:
        return self.engine.inspect(image)

    def remove(self, reference: str) -> None:
        self.engine.remove(reference)

    def search(
        self, term: str, exact: bool, auth: RegistryAuth | None = None
    ) -> list[dict[str, Any]]:
        return search_glance(self.glance, term, exact)
