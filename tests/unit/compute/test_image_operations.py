"""Pull progress and image work of the agent, against fake drivers and a recording control."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dockyard.compute.image_operations import ImageOperations
from dockyard.compute.pull_reports import REPORT_EVERY, ThrottledProgress
from dockyard.domain.errors import DriverError, InvalidImage, ServiceBusy
from dockyard.domain.image_records import ImageStatus, PullProgress
from dockyard.domain.states import TaskState
from dockyard.drivers.image.progress import PullStream
from dockyard.rpc.messages import CreateContainer, HostImages, ImageReport, PullImage
from tests.fakes.clock import FakeClock
from tests.unit.compute.helpers import IMAGE, World, record

OTHER = "registry.example.com/team/app:1"
RECORD = "5d0c6c1e-0000-4000-8000-0000000000aa"


def steps(count: int) -> list[PullProgress]:
    return [PullProgress(min(i // 3, 3), 3, i * 1_000_000, 9_000_000) for i in range(1, count + 1)]


class TickingImages:
    """Advances the clock by ``tick`` s before each progress step the fake pull tells."""

    def __init__(self, world: World, tick: float) -> None:
        self.world, self.tick = world, tick

    def install(self) -> None:
        inner = self.world.images.pull

        def pull(image: str, auth: Any = None, progress: Any = None) -> None:
            def ticking(p: PullProgress) -> None:
                self.world.clock.advance(self.tick)
                if progress is not None:
                    progress(p)

            inner(image, auth, ticking)

        self.world.images.pull = pull  # type: ignore[method-assign]


# -- the engine's pull stream ----------------------------------------------------------


def test_the_pull_stream_counts_layers_and_bytes() -> None:
    stream = PullStream()
    messages: list[dict[str, Any]] = [
        {"status": "Pulling from team/app", "id": "1"},
        {"status": "Already exists", "id": "base"},
        {"status": "Pulling fs layer", "id": "l1"},
        {"status": "Pulling fs layer", "id": "l2"},
        {"status": "Downloading", "id": "l1", "progressDetail": {"current": 100, "total": 400}},
        {"status": "Downloading", "id": "l2", "progressDetail": {"current": 50, "total": 200}},
        {"status": "Download complete", "id": "l1"},
        {"status": "Extracting", "id": "l1", "progressDetail": {"current": 10, "total": 400}},
        {"status": "Pull complete", "id": "l1"},
    ]
    changed = [stream.feed(m) for m in messages]
    assert changed[0] is False  # the image's own line is no layer
    assert stream.progress() == PullProgress(2, 3, 450, 600)
    assert stream.feed({"status": "Digest: sha256:ab", "id": None}) is False
    assert stream.feed({"status": "Downloading", "id": "l2", "progressDetail": {}}) is True
    stream.feed({"status": "Pull complete", "id": "l2"})
    assert stream.progress() == PullProgress(3, 3, 600, 600)
    assert stream.progress().describe() == "Pulling image: 3/3 layers, 0.0/0.0 MB"


# -- throttling --------------------------------------------------------------------------


def test_progress_is_passed_on_at_most_once_a_second_and_flushed() -> None:
    clock, sent = FakeClock(), []
    throttle = ThrottledProgress(sent.append, clock.monotonic)
    for progress in steps(10):
        throttle(progress)
        clock.advance(0.25)
    assert sent == [steps(10)[0], steps(10)[4], steps(10)[8]]
    throttle.flush()
    assert sent[-1] == steps(10)[9]
    throttle.flush()  # nothing held back: nothing more
    assert len(sent) == 4


def test_a_failed_progress_report_does_not_fail_the_pull() -> None:
    clock = FakeClock()

    def refuse(_: PullProgress) -> None:
        raise ServiceBusy("conductor away")

    throttle = ThrottledProgress(refuse, clock.monotonic)
    throttle(steps(1)[0])
    assert throttle.sent == 0


# -- a container's image_pulling ----------------------------------------------------------


def test_a_create_that_pulls_shows_progress_in_status_detail(world: World) -> None:
    world.images.pull_steps = steps(8)
    TickingImages(world, 0.5).install()
    c = world.control.add(record(image=OTHER, task_state=TaskState.CONTAINER_CREATING))
    details: list[str | None] = []
    world.control.on_report.append(
        lambda control, report, applied: (
            details.append(c.status_detail) if report.change.detail else None
        )
    )
    world.ops.create(CreateContainer(c.spec(), True, "ifnotpresent", "req"))

    progress = [r for r in world.control.reports if r.change.detail]
    assert all(r.expect == TaskState.IMAGE_PULLING for r in progress)
    # 8 steps 0.5 s apart: reported every 2nd one (1 s), then the last, flushed.
    assert [r.change.detail for r in progress] == [s.describe() for s in steps(8)[0::2]] + [
        steps(8)[-1].describe()
    ]
    assert details[-1] == "Pulling image: 2/3 layers, 8.0/9.0 MB"
    assert c.status_detail is not None and c.status_detail.startswith("Up")


def test_a_failed_pull_clears_the_progress_and_says_why(world: World) -> None:
    world.images.pull_steps = steps(1)
    world.images.fail_on["pull"] = DriverError(
        f"could not pull image '{OTHER}': the host's disk is full (no space left on device)"
    )
    c = world.control.add(record(image=OTHER, task_state=TaskState.CONTAINER_CREATING))
    world.ops.create(CreateContainer(c.spec(), True, "ifnotpresent", "req"))
    assert c.status == "Error"
    assert "disk is full" in (c.status_reason or "")
    assert c.status_detail is None


# -- pulls for image records ---------------------------------------------------------------


def image_ops(world: World) -> ImageOperations:
    return ImageOperations("node-1", world.images, world.control, world.clock)


def test_an_image_pull_reports_progress_then_id_and_size(world: World) -> None:
    world.images.pull_steps = steps(3)
    TickingImages(world, REPORT_EVERY).install()
    world.control.pulling.add(RECORD)
    image_ops(world).pull(PullImage(RECORD, "registry.example.com/team/app", "1"))
    reports = world.control.image_reports
    assert [r.progress for r in reports[:-1]] == steps(3)
    last = reports[-1]
    assert last.status == ImageStatus.READY and last.progress is None
    local = world.images.inspect(OTHER)
    assert (last.image_id, last.size) == (local.image_id, local.size)


@pytest.mark.parametrize(
    "error",
    [
        InvalidImage("image 'x' was not found in registry registry.example.com"),
        DriverError("could not pull image 'x': the host's disk is full (no space left)"),
    ],
)
def test_a_failed_image_pull_reports_why(world: World, error: Exception) -> None:
    world.images.fail_on["pull"] = error  # type: ignore[assignment]
    world.control.pulling.add(RECORD)
    image_ops(world).pull(PullImage(RECORD, "registry.example.com/team/app", "1"))
    (report,) = world.control.image_reports
    assert (report.status, report.reason) == (ImageStatus.ERROR, str(error))


def test_sync_sends_every_tag_of_the_engine(world: World) -> None:
    image_ops(world).sync()
    (sent,) = world.control.host_images
    assert sent.host == "node-1"
    assert [(i.repo, i.tag) for i in sent.images] == [tuple(IMAGE.split(":"))]


def test_a_listing_taken_before_a_pull_landed_is_applied_before_its_ready(
    world: World,
) -> None:
    """Else the sync, seeing no such tag, would drop the record the pull just made ready."""
    ops = image_ops(world)
    world.control.pulling.add(RECORD)
    syncing, release = threading.Event(), threading.Event()
    order: list[str] = []
    inner_sync, inner_report = world.control.sync_images, world.control.report_image

    def slow_sync(message: HostImages) -> None:
        syncing.set()
        release.wait(5)
        order.append(f"sync of {len(message.images)} tags")
        inner_sync(message)

    def report(message: ImageReport) -> bool:
        order.append(str(message.status))
        return inner_report(message)

    world.control.sync_images = slow_sync  # type: ignore[method-assign]
    world.control.report_image = report  # type: ignore[method-assign]
    sync = threading.Thread(target=ops.sync)
    sync.start()
    assert syncing.wait(5)
    pull = threading.Thread(target=ops.pull, args=(PullImage(RECORD, *OTHER.rsplit(":", 1)),))
    pull.start()
    pull.join(0.3)
    assert pull.is_alive() and order == []  # the READY waits for the sync in flight
    release.set()
    sync.join(5)
    pull.join(5)
    assert order == ["sync of 1 tags", str(ImageStatus.READY)]
