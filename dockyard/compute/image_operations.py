"""What an agent does for the images API: pulls for image records, removals, searches,
and keeping its host's image records true."""

from __future__ import annotations

import logging
import threading
from typing import Any

from dockyard.compute.image_gc import UseNotes
from dockyard.compute.pull_reports import ThrottledProgress
from dockyard.domain.clock import Clock
from dockyard.domain.errors import DockyardError
from dockyard.domain.image_records import ImageStatus, PullProgress
from dockyard.domain.registries import RegistryAuth
from dockyard.drivers.image.base import ImageDriver
from dockyard.rpc.api import ControlAPI
from dockyard.rpc.messages import HostImages, ImageReport, PullImage

LOG = logging.getLogger(__name__)


def failure_reason(exc: Exception) -> str:
    return exc.detail if isinstance(exc, DockyardError) else f"Unexpected error: {exc}"


class ImageOperations:
    def __init__(
        self,
        host: str,
        images: ImageDriver,
        control: ControlAPI,
        clock: Clock,
        notes: UseNotes | None = None,
    ) -> None:
        self.host = host
        self.images = images
        self.control = control
        self.clock = clock
        #: Pulls and uses to carry to the records with the next sync.
        self.notes = notes
        #: Held from listing the engine to the control side applying that list, and
        #: around a pull's final report: a list taken before a pull landed must not be
        #: applied after its READY (the record would go as "removed from the engine").
        self._sync_or_report = threading.Lock()

    def pull(self, msg: PullImage) -> None:
        """Pull for the record ``msg.uuid``, reporting progress, then the image's id and
        size, or why the pull failed."""
        reference = f"{msg.repo}:{msg.tag}"

        def show(progress: PullProgress) -> None:
            self.control.report_image(ImageReport(msg.uuid, ImageStatus.PULLING, progress))

        shown = ThrottledProgress(show, self.clock.monotonic)
        try:
            self.images.pull(reference, msg.auth, shown)
            shown.flush()
            local = self.images.inspect(reference)
        except Exception as exc:
            LOG.warning("pull of %s on %s failed: %s", reference, self.host, exc)
            report = ImageReport(msg.uuid, ImageStatus.ERROR, reason=failure_reason(exc))
        else:
            report = ImageReport(
                msg.uuid, ImageStatus.READY, image_id=local.image_id, size=local.size
            )
        with self._sync_or_report:
            self.control.report_image(report)

    def remove(self, reference: str) -> None:
        self.images.remove(reference)

    def search(self, term: str, exact: bool, auth: RegistryAuth | None) -> list[dict[str, Any]]:
        return self.images.search(term, exact, auth)

    def sync(self) -> None:
        """Send the engine's tags, so the control side can make the records match, with
        the pulls and uses noted since the last sync."""
        with self._sync_or_report:
            # Taken before listing: a tag a noted pull brought is then in the list.
            uses = self.notes.drain() if self.notes is not None else ()
            try:
                listed_at = self.clock.now()
                local = tuple(self.images.local_images())
                self.control.sync_images(HostImages(self.host, local, uses, listed_at))
            except Exception:
                if self.notes is not None:
                    self.notes.restore(uses)
                raise
