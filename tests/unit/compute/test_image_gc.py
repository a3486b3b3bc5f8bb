"""The agent's image garbage collection against a fake engine and a recording control."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest

from dockyard.compute.image_gc import ImageCollector, reference_key
from dockyard.compute.image_operations import ImageOperations
from dockyard.config.compute import ComputeConfig
from dockyard.domain.errors import Unavailable
from dockyard.domain.image_gc import StoreUsage
from dockyard.domain.image_records import ImageRecord, ImageStatus, LocalImage
from tests.fakes.clock import FakeClock
from tests.fakes.control import RecordingControl
from tests.fakes.runtime import FakeImages

HOST = "node-1"
A, B, C, D = (f"127.0.0.1:5001/gc/{n}:1" for n in "abcd")

SETTINGS = ComputeConfig(
    workers=1,
    queue_size=1,
    sync_interval=1,
    heartbeat_interval=1,
    lost_create_after=60,
    stuck_task_after=60,
    cpu_allocation_ratio=1.0,
    ram_allocation_ratio=1.0,
    reserved_host_memory_mb=0,
    availability_zone="nova",
    image_gc_interval=60,
    image_gc_high_percent=50,
    image_gc_low_percent=40,
    image_gc_max_bytes=0,
    image_gc_pinned=[],
    image_gc_min_age=0,
)


class Host:
    def __init__(self, **settings: object) -> None:
        self.clock = FakeClock(step=dt.timedelta(seconds=1))
        self.images = FakeImages(registry=[A, B, C, D])
        self.control = RecordingControl(clock=self.clock)
        self.gc = ImageCollector(
            HOST,
            self.images,
            self.control,
            self.clock,
            dataclasses.replace(SETTINGS, **settings),  # type: ignore[arg-type]
        )
        self.watched = self.gc.watch(self.images)
        self.ops = ImageOperations(HOST, self.watched, self.control, self.clock, self.gc.notes)

    def local(self, image: str) -> LocalImage:
        return next(i for i in self.images.local_images() if f"{i.repo}:{i.tag}" == image)

    def record(self, image: str, pulled: bool = True, hours_ago: float = 1) -> None:
        """What the control side would answer after the agent's notes."""
        local = self.local(image)
        self.control.records.setdefault(HOST, []).append(
            ImageRecord(
                uuid=f"uuid-{image}",
                repo=local.repo,
                tag=local.tag,
                host=HOST,
                image_id=local.image_id,
                size=local.size,
                status=ImageStatus.READY,
                pulled_by_dockyard=pulled,
                last_used_at=self.clock.at - dt.timedelta(hours=hours_ago),
            )
        )

    def owned(self) -> int:
        return sum(self.local(i).size for i in (A, B, C, D) if self.images.exists_locally(i))


def test_pulls_and_uses_are_noted_and_carried_by_the_next_sync() -> None:
    host = Host()
    host.images.local.add(reference_key(B) or "")
    host.watched.pull(A)  # new on the engine: Dockyard's
    host.watched.pull(B)  # already there: only a use
    host.gc.note_use(C)
    assert host.watched.exists_locally(A)

    host.ops.sync()

    [sent] = host.control.host_images
    assert [(u.reference, u.pulled) for u in sent.uses] == [
        (A, True),
        (B, False),
        (C, False),
        (A, False),
    ]
    assert {f"{i.repo}:{i.tag}" for i in sent.images} == {A, B}
    host.ops.sync()
    assert host.control.host_images[-1].uses == ()


def test_notes_a_failed_sync_did_not_deliver_go_with_the_next() -> None:
    host = Host()
    host.watched.pull(A)
    original = host.images.local_images

    def failing() -> list[LocalImage]:
        raise Unavailable("conductor gone")

    host.images.local_images = failing  # type: ignore[method-assign]
    with pytest.raises(Unavailable):
        host.ops.sync()
    host.images.local_images = original  # type: ignore[method-assign]
    host.ops.sync()
    assert [u.reference for u in host.control.host_images[-1].uses] == [A]


def test_a_budget_collects_dockyards_unused_images_least_recently_used_first() -> None:
    host = Host()
    for image in (A, B, C, D):
        host.watched.pull(image)
    host.record(A, hours_ago=1)
    host.record(B, hours_ago=4)  # the oldest, but in use
    host.record(C, hours_ago=3)
    host.record(D, hours_ago=2)
    host.images.in_use.add(host.local(B).image_id)
    total = host.owned()
    # Four images of one size s against 6 s: 67 % is above the high mark (50 %); the
    # low mark (40 %, 2.4 s) needs two gone: C then D, never B.
    budget = total * 6 // 4
    host.gc = ImageCollector(
        HOST,
        host.images,
        host.control,
        host.clock,
        dataclasses.replace(SETTINGS, image_gc_max_bytes=budget),
    )

    removed = host.gc.collect()

    assert [c.references for c in removed] == [(C,), (D,)]
    assert host.images.removed == [C, D]
    assert host.images.exists_locally(A) and host.images.exists_locally(B)


def test_images_not_pulled_by_dockyard_or_pinned_stay_however_full_the_disk() -> None:
    host = Host(image_gc_pinned=["127.0.0.1:5001/gc/c:1"])
    for image in (A, B, C):
        host.watched.pull(image)
    host.record(A, pulled=False, hours_ago=5)
    host.record(C, hours_ago=4)
    host.images.usage = StoreUsage(99, 100)  # B has no record at all

    assert host.gc.collect() == []
    assert host.images.removed == []


def test_nothing_is_done_below_the_high_water_mark_or_when_the_disk_is_unmeasurable() -> None:
    host = Host()
    host.watched.pull(A)
    host.record(A, hours_ago=5)
    host.images.usage = StoreUsage(50, 100)
    assert host.gc.collect() == []
    host.images.usage = None
    assert host.gc.collect() == []
    host.images.usage = StoreUsage(51, 100)
    assert [c.references for c in host.gc.collect()] == [(A,)]


def test_an_image_just_used_or_being_pulled_is_kept() -> None:
    host = Host(image_gc_min_age=600)
    host.watched.pull(A)
    host.record(A, hours_ago=5)
    host.images.usage = StoreUsage(99, 100)
    # The record is old, but this agent pulled it a moment ago.
    assert host.gc.collect() == []

    host = Host()
    host.watched.pull(A)
    host.record(A, hours_ago=5)
    host.images.usage = StoreUsage(99, 100)
    with host.gc.guard.pulling(reference_key(A) or ""):
        assert host.gc.collect() == []
    assert host.images.removed == []


def test_a_pull_waits_for_the_removal_of_its_tag() -> None:
    host = Host()
    key = reference_key(A) or ""
    pulled = threading.Event()
    with host.gc.guard.removing(key) as free:
        assert free
        thread = threading.Thread(target=lambda: (host.watched.pull(A), pulled.set()))
        thread.start()
        assert not pulled.wait(0.2)
    thread.join(5)
    assert pulled.is_set()


def test_collection_runs_every_interval_and_not_at_all_with_zero() -> None:
    host = Host(image_gc_interval=60)
    host.watched.pull(A)
    host.record(A, hours_ago=5)
    host.images.usage = StoreUsage(10, 100)
    calls: list[int] = []
    host.gc.collect = lambda: calls.append(1) or []  # type: ignore[method-assign]
    host.gc.run_if_due()
    host.gc.run_if_due()
    host.clock.advance(61)
    host.gc.run_if_due()
    assert len(calls) == 2

    off = Host(image_gc_interval=0)
    off.gc.collect = lambda: calls.append(1) or []  # type: ignore[method-assign]
    off.gc.run_if_due()
    assert len(calls) == 2


def test_reference_keys_are_the_engines_repo_and_tag() -> None:
    assert reference_key("busybox") == "busybox:latest"
    assert reference_key("docker.io/library/busybox:1") == "busybox:1"
    assert reference_key("busybox@sha256:" + "a" * 64) is None
    assert reference_key("Not A Reference") is None
