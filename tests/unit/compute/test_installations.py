"""Two installations on one engine with the same host name: an agent touches only its own."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from dockyard.compute.reconcile import Reconciler
from dockyard.compute.watch import EventWatcher
from dockyard.domain.states import Status
from tests.fakes.control import INSTALLATION
from tests.unit.compute.helpers import HOST, UUID, World, record

THEIRS = "0b7a3f4e-2222-4c2d-9e3f-000000000002"
LEGACY = "0b7a3f4e-2222-4c2d-9e3f-000000000003"
MINE = "0b7a3f4e-2222-4c2d-9e3f-000000000004"
ANOTHER_INSTALLATION = "7d0b9a44-3c1e-4f6a-9b3e-5a2f1c0d8e99"


@pytest.fixture
def reconciler(world: World) -> Reconciler:
    return Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION)


def removed(world: World) -> list[str]:
    return [c.args[0] for c in world.runtime.calls if c.name == "remove"]


def test_another_installation_s_containers_are_never_removed(
    world: World, reconciler: Reconciler
) -> None:
    world.runtime.add(
        record(uuid=THEIRS).spec(), status=Status.RUNNING, installation=ANOTHER_INSTALLATION
    )
    world.runtime.add(record(uuid=MINE).spec(), status=Status.RUNNING)

    reconciler.run()
    reconciler.run(after_restart=True)

    assert removed(world) == [MINE]  # our own orphan
    assert THEIRS in world.runtime.containers
    assert world.control.reports == []


def test_unlabelled_containers_without_a_record_are_left_alone(
    world: World, reconciler: Reconciler
) -> None:
    """Made before installations were labelled: maybe another installation's, so kept."""
    world.runtime.add(record(uuid=LEGACY).spec(), status=Status.RUNNING, installation=None)

    reconciler.run(after_restart=True)
    reconciler.run()

    assert removed(world) == []
    assert LEGACY in world.runtime.containers
    assert world.control.reports == []


def test_unlabelled_containers_with_a_record_are_adopted(
    world: World, reconciler: Reconciler
) -> None:
    """The installation that recorded the container keeps it up to date as before."""
    c = world.control.add(record(uuid=LEGACY, status=Status.RUNNING))
    world.runtime.add(c.spec(), status=Status.RUNNING, installation=None)
    c.runtime_id = world.runtime.inspect(LEGACY).runtime_id
    world.runtime.exit(LEGACY, exit_code=3)

    reconciler.run()

    assert removed(world) == []
    assert (c.status, c.exit_code) == (Status.STOPPED, 3)
    assert not any(r.change.status is Status.ERROR for r in world.control.reports)


def test_a_record_whose_container_belongs_to_another_installation_is_missing(
    world: World, reconciler: Reconciler
) -> None:
    """A listing entry of another installation never stands in for our record's container."""
    c = world.control.add(record(uuid=UUID, status=Status.RUNNING, runtime_id="ours-long-gone"))
    world.runtime.add(c.spec(), status=Status.RUNNING, installation=ANOTHER_INSTALLATION)

    reconciler.run()

    assert c.status is Status.ERROR
    assert "removed from the engine outside Dockyard" in (c.status_reason or "")
    assert removed(world) == []


def _wait(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_events_of_another_installation_are_ignored(world: World) -> None:
    mine = world.control.add(record(uuid=MINE, status=Status.RUNNING))
    world.runtime.add(mine.spec(), status=Status.RUNNING)
    theirs = world.control.add(record(uuid=THEIRS, status=Status.RUNNING))
    world.runtime.add(theirs.spec(), status=Status.RUNNING, installation=ANOTHER_INSTALLATION)
    reconciler = Reconciler(
        HOST, world.runtime, world.control, world.clock, installation=INSTALLATION
    )
    refreshed: list[str] = []
    lock = threading.Lock()
    real = reconciler.refresh

    def spy(uuid: str) -> None:
        with lock:
            refreshed.append(uuid)
        real(uuid)

    reconciler.refresh = spy  # type: ignore[method-assign]
    watcher = EventWatcher(HOST, world.runtime, reconciler)
    watcher.start()
    try:
        _wait(lambda: world.runtime.streams)
        world.runtime.exit(THEIRS, exit_code=1)
        world.runtime.emit(THEIRS, "die", time=dt.datetime.now().timestamp())
        world.runtime.exit(MINE, exit_code=2)
        world.runtime.emit(MINE, "die", time=dt.datetime.now().timestamp())
        _wait(lambda: mine.status is Status.STOPPED)
    finally:
        watcher.stop()

    assert refreshed == [MINE]
    assert theirs.status is Status.RUNNING
