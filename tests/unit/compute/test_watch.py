from __future__ import annotations

import time
from collections.abc import Callable

from dockyard.compute.freshness import Freshness
from dockyard.compute.reconcile import Reconciler
from dockyard.compute.watch import EventWatcher
from dockyard.domain.states import Status, TaskState
from tests.fakes.control import INSTALLATION
from tests.unit.compute.helpers import HOST, UUID, World, record


def _wait(condition: Callable[[], object], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_an_engine_event_refreshes_the_record_at_once(world: World) -> None:
    c = world.control.add(record(status=Status.RUNNING))
    world.runtime.add(c.spec(), status=Status.RUNNING)
    watcher = EventWatcher(
        HOST,
        world.runtime,
        Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION),
    )
    watcher.start()
    try:
        _wait(lambda: world.runtime.streams)
        world.runtime.exit(UUID, exit_code=3)
        world.runtime.emit(UUID, "die")
        _wait(lambda: c.status is Status.STOPPED)
        assert c.exit_code == 3
    finally:
        watcher.stop()


def test_events_for_a_record_with_a_task_in_flight_leave_it_alone(world: World) -> None:
    c = world.control.add(record(status=Status.RUNNING, task_state=TaskState.CONTAINER_STOPPING))
    world.runtime.add(c.spec(), status=Status.STOPPED)
    Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION).refresh(
        UUID
    )
    assert world.control.reports == []
    assert c.status is Status.RUNNING


def test_events_about_unknown_containers_are_ignored(world: World) -> None:
    Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION).refresh(
        "no-such-uuid"
    )
    assert world.control.reports == []


def _watching(world: World, freshness: Freshness, busy: set[str]) -> EventWatcher:
    reconciler = Reconciler(
        HOST, world.runtime, world.control, world.clock, installation=INSTALLATION
    )
    watcher = EventWatcher(HOST, world.runtime, reconciler, freshness, busy=busy.__contains__)
    watcher.start()
    _wait(lambda: world.runtime.streams)
    return watcher


def test_events_the_agent_already_saw_are_not_looked_up(world: World) -> None:
    c = world.control.add(record(status=Status.RUNNING))
    world.runtime.add(c.spec(), status=Status.STOPPED)
    clock = [1000.0]
    freshness = Freshness(clock=lambda: clock[0])
    freshness.mark(UUID)  # an operation's final inspect at t=1000
    watcher = _watching(world, freshness, set())
    try:
        world.runtime.emit(UUID, "die", time=999.5)  # before that inspect: covered
        world.runtime.emit(UUID, "die", time=1000.0)
        time.sleep(0.2)
        assert world.control.reports == []
        assert c.status is Status.RUNNING

        world.runtime.emit(UUID, "die", time=1000.5)  # after it: looked at
        _wait(lambda: c.status is Status.STOPPED)
    finally:
        watcher.stop()


def test_events_without_a_time_are_always_looked_up(world: World) -> None:
    c = world.control.add(record(status=Status.RUNNING))
    world.runtime.add(c.spec(), status=Status.STOPPED)
    freshness = Freshness()
    freshness.mark(UUID)
    watcher = _watching(world, freshness, set())
    try:
        world.runtime.emit(UUID, "die")
        _wait(lambda: c.status is Status.STOPPED)
    finally:
        watcher.stop()


def test_events_about_a_container_an_operation_holds_are_left_to_it(world: World) -> None:
    c = world.control.add(record(status=Status.RUNNING))
    world.runtime.add(c.spec(), status=Status.STOPPED)
    busy = {UUID}
    watcher = _watching(world, Freshness(), busy)
    try:
        world.runtime.emit(UUID, "die", time=time.time())
        time.sleep(0.2)
        assert world.control.reports == []
        busy.clear()
        world.runtime.emit(UUID, "die", time=time.time())
        _wait(lambda: c.status is Status.STOPPED)
    finally:
        watcher.stop()
