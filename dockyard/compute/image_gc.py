"""Image garbage collection on one host (docs/images.md).

Above the high-water mark of the image store, the images Dockyard pulled on this host
that no container of the engine uses and no option pins are removed, least recently
used first, down to the low-water mark. What counts as used, pulled by Dockyard and
last used comes from the image records (kept by the control side from this agent's
notes); what is in use and how full the store is comes from the engine, just before
removing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dockyard.config.compute import ComputeConfig
from dockyard.domain.clock import Clock
from dockyard.domain.errors import ImageInUse, InvalidImage, NotFound
from dockyard.domain.image_gc import (
    GcCandidate,
    GcPolicy,
    StoreUsage,
    over_high_water,
    select,
)
from dockyard.domain.image_records import ImageRecord, ImageStatus, ImageUse, LocalImage, canonical
from dockyard.domain.images import parse_image
from dockyard.domain.registries import RegistryAuth
from dockyard.drivers.image.base import ImageDriver, ProgressCallback
from dockyard.observability import metrics
from dockyard.rpc.api import ControlAPI

LOG = logging.getLogger(__name__)


def reference_key(image: str) -> str | None:
    """``image`` as ``repo:tag`` the way the engine lists it; None for a digest or a
    reference that does not parse (nothing to note or guard by tag)."""
    try:
        ref = parse_image(image)
    except InvalidImage:
        return None
    if ref.digest is not None:
        return None
    repo, tag = canonical(ref.repository, ref.tag)
    return f"{repo}:{tag}"


class UseNotes:
    """The pulls and container creates of this agent: kept until the next image sync
    carries them to the records, and remembered (per reference) for ``min_age``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: list[ImageUse] = []
        self._touched: dict[str, dt.datetime] = {}

    def note(self, image: str, pulled: bool = False) -> None:
        key = reference_key(image)
        if key is None:
            return
        now = self.clock.now()
        with self._lock:
            self._pending.append(ImageUse(key, now, pulled))
            self._touched[key] = now

    def drain(self) -> tuple[ImageUse, ...]:
        with self._lock:
            taken, self._pending = tuple(self._pending), []
        return taken

    def restore(self, uses: Sequence[ImageUse]) -> None:
        """Put back notes a failed sync did not deliver."""
        with self._lock:
            self._pending[:0] = uses

    def touched(self, reference: str) -> dt.datetime | None:
        with self._lock:
            return self._touched.get(reference)


class PullGuard:
    """Never a pull and a removal of the same reference at once: a pull waits for a
    removal to end; a removal is skipped while a pull runs."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pulling: Counter[str] = Counter()
        self._removing: set[str] = set()

    @contextmanager
    def pulling(self, key: str) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: key not in self._removing)
            self._pulling[key] += 1
        try:
            yield
        finally:
            with self._cond:
                self._pulling[key] -= 1
                if self._pulling[key] <= 0:
                    del self._pulling[key]
                self._cond.notify_all()

    @contextmanager
    def removing(self, key: str) -> Iterator[bool]:
        """Yields False (and holds nothing) while ``key`` is being pulled."""
        with self._cond:
            if self._pulling[key] > 0:
                free = False
            else:
                free = True
                self._removing.add(key)
        try:
            yield free
        finally:
            if free:
                with self._cond:
                    self._removing.discard(key)
                    self._cond.notify_all()


def candidates(
    local: Sequence[LocalImage],
    records: Sequence[ImageRecord],
    in_use: frozenset[str],
    notes: UseNotes,
) -> list[GcCandidate]:
    """The engine's tagged images as the policy sees them, one per image id."""
    recorded = {r.reference: r for r in records}
    tags: dict[str, list[LocalImage]] = defaultdict(list)
    for image in local:
        tags[image.image_id].append(image)
    found = []
    for image_id, tagged in tags.items():
        refs = tuple(sorted(f"{t.repo}:{t.tag}" for t in tagged))
        owned = True
        times: list[dt.datetime] = []
        for ref in refs:
            record = recorded.get(ref)
            if record is None or not (
                record.pulled_by_dockyard and record.status == ImageStatus.READY
            ):
                owned = False
            if record is not None and record.last_used_at is not None:
                times.append(record.last_used_at)
            if (touched := notes.touched(ref)) is not None:
                times.append(touched)
        found.append(
            GcCandidate(
                image_id=image_id,
                references=refs,
                size=tagged[0].size,
                last_used=max(times, default=None),
                owned=owned,
                in_use=image_id in in_use,
            )
        )
    return found


def budget_usage(found: Sequence[GcCandidate], budget: int) -> StoreUsage:
    """Dockyard's own images (those with a tag it pulled) against ``budget`` bytes."""
    return StoreUsage(sum(c.size for c in found if c.owned), budget)


def _pinned(references: Sequence[str]) -> frozenset[str]:
    keys = set()
    for text in references:
        key = reference_key(text)
        if key is None:
            LOG.warning("[compute] image_gc_pinned: %r is not a repo:tag reference; ignored", text)
        else:
            keys.add(key)
    return frozenset(keys)


class ImageCollector:
    """Runs the policy of ``dockyard.domain.image_gc`` against one host's engine."""

    def __init__(
        self,
        host: str,
        images: ImageDriver,
        control: ControlAPI,
        clock: Clock,
        settings: ComputeConfig,
    ) -> None:
        self.host = host
        self.images = images
        self.control = control
        self.clock = clock
        self.interval = settings.image_gc_interval
        self.budget = settings.image_gc_max_bytes
        self.policy = GcPolicy(
            high_percent=settings.image_gc_high_percent,
            low_percent=settings.image_gc_low_percent,
            pinned=_pinned(settings.image_gc_pinned),
            min_age=dt.timedelta(seconds=settings.image_gc_min_age),
        )
        self.notes = UseNotes(clock)
        self.guard = PullGuard()
        self._last_run: float | None = None
        self._unmeasurable_logged = False

    # -- what the agent's operations tell it -----------------------------------

    def watch(self, images: ImageDriver) -> ImageDriver:
        """``images`` with its pulls noted and guarded against a removal of the same
        tag, and each image found present noted as used (as ``instrument`` does, on
        the instance, so any driver keeps its other methods)."""
        pull, exists = images.pull, images.exists_locally

        def watched_pull(
            image: str,
            auth: RegistryAuth | None = None,
            progress: ProgressCallback | None = None,
        ) -> None:
            key = reference_key(image)
            if key is None:
                pull(image, auth, progress)
                return
            with self.guard.pulling(key):
                fresh = not exists(image)
                pull(image, auth, progress)
                self.notes.note(image, pulled=fresh)

        def watched_exists(image: str) -> bool:
            found = exists(image)
            if found:
                self.notes.note(image)
            return found

        setattr(images, "pull", watched_pull)  # noqa: B010 - replacing the bound method
        setattr(images, "exists_locally", watched_exists)  # noqa: B010
        return images

    def note_use(self, image: str) -> None:
        """A container is being created from ``image``."""
        self.notes.note(image)

    # -- collection --------------------------------------------------------------

    def run_if_due(self) -> list[GcCandidate]:
        """Collect when ``image_gc_interval`` has passed since the last run."""
        if self.interval <= 0:
            return []
        now = self.clock.monotonic()
        if self._last_run is not None and now - self._last_run < self.interval:
            return []
        self._last_run = now
        return self.collect()

    def collect(self) -> list[GcCandidate]:
        """One collection; the images removed."""
        filesystem = None
        if self.budget <= 0:
            filesystem = self._filesystem()
            if filesystem is None or not over_high_water(filesystem, self.policy):
                return []
        try:
            in_use = self.images.images_in_use()
        except NotImplementedError as exc:
            LOG.warning("image garbage collection on host %s skipped: %s", self.host, exc)
            return []
        local = self.images.local_images()
        records = self.control.image_records(self.host)
        found = candidates(local, records, in_use, self.notes)
        usage = filesystem or budget_usage(found, self.budget)
        chosen = select(found, usage, self.policy, self.clock.now())
        if chosen:
            LOG.info(
                "image garbage collection on host %s: store at %.1f%% (high-water mark "
                "%d%%); removing %d image(s)",
                self.host,
                usage.percent(),
                self.policy.high_percent,
                len(chosen),
            )
        return [c for c in chosen if self._remove(c)]

    def _filesystem(self) -> StoreUsage | None:
        usage = self.images.store_usage()
        if usage is None and not self._unmeasurable_logged:
            LOG.warning(
                "image garbage collection on host %s cannot measure the engine's image "
                "store (not on this machine); set [compute] image_gc_max_bytes to collect "
                "by a budget instead",
                self.host,
            )
            self._unmeasurable_logged = True
        return usage

    def _remove(self, candidate: GcCandidate) -> bool:
        for ref in candidate.references:
            with self.guard.removing(ref) as free:
                if not free:
                    LOG.info("image garbage collection keeps %s: it is being pulled", ref)
                    return False
                touched = self.notes.touched(ref)
                if touched is not None and self.clock.now() - touched < self.policy.min_age:
                    LOG.info("image garbage collection keeps %s: it was just used", ref)
                    return False
                try:
                    self.images.remove(ref)
                except NotFound:
                    continue
                except ImageInUse as exc:
                    LOG.info("image garbage collection keeps %s: %s", ref, exc.detail)
                    return False
        last = candidate.last_used.isoformat(sep=" ") if candidate.last_used else "never"
        LOG.info(
            "image garbage collection on host %s removed %s (image %s, %.1f MB, last used %s)",
            self.host,
            ", ".join(candidate.references),
            candidate.image_id,
            candidate.size / 1e6,
            last,
        )
        metrics.IMAGE_GC_REMOVED.labels(self.host).inc()
        metrics.IMAGE_GC_FREED.labels(self.host).inc(candidate.size)
        return True
