"""The agent's bounded pool, per-container locks and graceful stop."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import REGISTRY

from dockyard.compute.agent import ComputeAgent, KeyedLocks
from dockyard.config.compute import ComputeConfig
from dockyard.config.docker import DockerConfig
from dockyard.domain.errors import NotFound, Unavailable
from dockyard.domain.models import ContainerSpec, ExecResult, LogOptions
from dockyard.domain.states import IN_FLIGHT, Status, TaskState
from dockyard.observability.context import RequestScope, bound, current
from dockyard.rpc.messages import ContainerOperation, ContainerReport, CreateContainer
from tests.fakes.clock import FakeClock
from tests.fakes.control import INSTALLATION, RecordingControl
from tests.fakes.runtime import FakeImages, FakeRuntime
from tests.unit.compute.helpers import HOST, IMAGE, record

WAIT = 5.0  # upper bound for anything that should happen "at once"


def uuid(n: int) -> str:
    return f"0b7a3f4e-1111-4c2d-9e3f-{n:012d}"


# --- KeyedLocks -----------------------------------------------------------------------------


def test_keyed_locks_serialise_one_key() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with locks.hold("a"):
            order.append("first in")
            first_in.set()
            release_first.wait(WAIT)
            order.append("first out")

    def second() -> None:
        with locks.hold("a"):
            order.append("second in")

    t1 = threading.Thread(target=first)
    t1.start()
    assert first_in.wait(WAIT)
    t2 = threading.Thread(target=second)
    t2.start()
    time.sleep(0.05)
    assert order == ["first in"]  # second is waiting
    assert locks._locks["a"][1] == 2  # one holder, one waiter
    release_first.set()
    t1.join(WAIT)
    t2.join(WAIT)

    assert order == ["first in", "first out", "second in"]
    assert locks._locks == {}


def test_keyed_locks_do_not_block_other_keys() -> None:
    locks = KeyedLocks()
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with locks.hold("a"):
            held.set()
            release.wait(WAIT)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(WAIT)
    try:
        with locks.hold("b"):
            assert set(locks._locks) == {"a", "b"}
    finally:
        release.set()
        thread.join(WAIT)
    assert locks._locks == {}


def test_keyed_locks_free_entries_after_an_exception() -> None:
    locks = KeyedLocks()

    with pytest.raises(RuntimeError), locks.hold("a"):
        raise RuntimeError("boom")

    assert locks._locks == {}
    with locks.hold("a"):  # and the key is usable again
        pass


def test_keyed_locks_under_contention() -> None:
    locks = KeyedLocks()
    counter = {"n": 0, "inside": 0, "max_inside": 0}

    def work() -> None:
        for _ in range(50):
            with locks.hold("k"):
                counter["inside"] += 1
                counter["max_inside"] = max(counter["max_inside"], counter["inside"])
                counter["n"] += 1
                counter["inside"] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)

    assert counter["n"] == 400
    assert counter["max_inside"] == 1
    assert locks._locks == {}


# --- the agent ------------------------------------------------------------------------------


def compute_config(workers: int = 1, queue_size: int = 1) -> ComputeConfig:
    return ComputeConfig(
        workers=workers,
        queue_size=queue_size,
        sync_interval=3600,
        heartbeat_interval=3600,
        lost_create_after=120,
        stuck_task_after=120,
        cpu_allocation_ratio=16.0,
        ram_allocation_ratio=1.5,
        reserved_host_memory_mb=512,
        availability_zone="nova",
    )


DOCKER = DockerConfig(
    api_url="unix:///nonexistent/docker.sock",
    api_timeout=1,
    execute_timeout=2.5,
    default_stop_timeout=1,
)


class Node:
    def __init__(self, workers: int = 1, queue_size: int = 1) -> None:
        self.images = FakeImages(local=[IMAGE])
        self.runtime = FakeRuntime(HOST, images=self.images)
        self.clock = FakeClock()
        self.control = RecordingControl(clock=self.clock)
        self.agent = ComputeAgent(
            HOST,
            self.runtime,
            self.images,
            self.control,
            compute_config(workers, queue_size),
            DOCKER,
            self.clock,
            installation=INSTALLATION,
        )
        self.gates: list[threading.Event] = []

    def running(self, n: int) -> str:
        """A running container with a record that the API has handed to ``stop``."""
        c = self.control.add(
            record(uuid(n), status=Status.RUNNING, task_state=IN_FLIGHT["stop"][0])
        )
        self.runtime.add(c.spec(), status=Status.RUNNING)
        return c.uuid

    def block(self, name: str) -> threading.Event:
        gate = self.runtime.block(name)
        self.gates.append(gate)
        return gate

    def stop_op(self, n: int) -> ContainerOperation:
        return ContainerOperation(uuid(n), "stop", f"req-{n}")


@pytest.fixture
def host() -> Iterator[Node]:
    h = Node()
    yield h
    for gate in h.gates:
        gate.set()
    h.agent.stop(WAIT)


def wait_until(predicate: Callable[[], object], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_an_operation_runs_on_the_pool(host: Node) -> None:
    host.running(1)

    host.agent.operate(host.stop_op(1))

    assert wait_until(lambda: host.control.events)
    assert host.control.containers[uuid(1)].status is Status.STOPPED
    assert host.agent.stop(WAIT) is True


def test_a_create_runs_on_the_pool(host: Node) -> None:
    c = host.control.add(record(uuid(1), task_state=TaskState.CONTAINER_CREATING))

    host.agent.create(CreateContainer(c.spec(), run=True, pull_policy="never", request_id="r"))

    assert host.agent.stop(WAIT) is True
    assert c.status is Status.RUNNING


def test_creates_and_image_pulls_are_noted_for_the_next_image_sync(host: Node) -> None:
    c = host.control.add(record(uuid(1), task_state=TaskState.CONTAINER_CREATING))
    host.agent.create(CreateContainer(c.spec(), run=True, pull_policy="never", request_id="r"))
    assert host.agent.stop(WAIT) is True

    host.agent.image_ops.sync()

    [sent] = host.control.host_images
    assert sent.uses[0].reference == IMAGE  # noted when the create came in
    assert not any(u.pulled for u in sent.uses)  # the engine held it already


def test_refuses_work_when_pool_and_queue_are_full(host: Node) -> None:
    gate = host.block("stop")
    for n in (1, 2, 3):
        host.running(n)

    host.agent.operate(host.stop_op(1))  # runs (and blocks)
    assert host.runtime.entered["stop"].wait(WAIT)
    host.agent.operate(host.stop_op(2))  # queued
    with pytest.raises(Unavailable, match="busy"):
        host.agent.operate(host.stop_op(3))
    with pytest.raises(Unavailable, match="busy"):
        host.agent.create(CreateContainer(ContainerSpec(uuid(3), "x", IMAGE), True, "never", "r"))

    gate.set()
    assert host.agent.stop(WAIT) is True
    assert host.control.containers[uuid(1)].status is Status.STOPPED
    assert host.control.containers[uuid(2)].status is Status.STOPPED
    assert host.control.containers[uuid(3)].status is Status.RUNNING  # refused, never ran


def test_slots_come_back_after_operations_finish(host: Node) -> None:
    for n in range(1, 7):
        host.running(n)
    host.runtime.fail_on["stop"] = NotFound("gone")  # failures free their slot too

    for n in range(1, 7):
        host.agent.operate(host.stop_op(n))

        def done(count: int = n) -> bool:
            return len(host.control.events) == count

        assert wait_until(done)

    assert [e.event.result for e in host.control.events] == ["Error"] * 6


def test_refuses_work_when_stopping(host: Node) -> None:
    host.running(1)
    assert host.agent.stop(WAIT) is True

    with pytest.raises(Unavailable, match="shutting down"):
        host.agent.operate(host.stop_op(1))
    with pytest.raises(Unavailable, match="shutting down"):
        host.agent.create(CreateContainer(ContainerSpec(uuid(1), "x", IMAGE), True, "never", "r"))
    assert host.runtime.call_names() == []


def test_stop_waits_for_in_flight_operations(host: Node) -> None:
    gate = host.block("stop")
    host.running(1)
    host.agent.operate(host.stop_op(1))
    assert host.runtime.entered["stop"].wait(WAIT)
    result: list[bool] = []

    stopper = threading.Thread(target=lambda: result.append(host.agent.stop(WAIT)))
    stopper.start()
    time.sleep(0.05)
    assert stopper.is_alive()  # still waiting for the operation
    assert result == []
    with pytest.raises(Unavailable, match="shutting down"):  # meanwhile, new work is refused
        host.agent.operate(host.stop_op(1))

    gate.set()
    stopper.join(WAIT)

    assert result == [True]
    c = host.control.containers[uuid(1)]
    assert c.status is Status.STOPPED
    assert c.task_state is None
    assert [e.event.result for e in host.control.events] == ["Success"]


def test_stop_waits_for_queued_operations_too(host: Node) -> None:
    gate = host.block("stop")
    host.running(1)
    host.running(2)
    host.agent.operate(host.stop_op(1))
    host.agent.operate(host.stop_op(2))
    assert host.runtime.entered["stop"].wait(WAIT)

    threading.Timer(0.05, gate.set).start()
    assert host.agent.stop(WAIT) is True

    assert len(host.control.events) == 2


def test_stop_reports_unfinished_operations(host: Node) -> None:
    gate = host.block("stop")
    host.running(1)
    host.agent.operate(host.stop_op(1))
    assert host.runtime.entered["stop"].wait(WAIT)

    began = time.monotonic()
    finished = host.agent.stop(0.05)

    assert finished is False
    assert time.monotonic() - began < 1.0
    assert host.control.events == []
    gate.set()  # the abandoned operation still ends cleanly
    assert wait_until(lambda: host.control.events)


def test_same_container_operations_are_serialised() -> None:
    h = Node(workers=2, queue_size=0)
    gate = h.block("stop")
    h.running(1)
    try:
        h.agent.operate(h.stop_op(1))
        assert h.runtime.entered["stop"].wait(WAIT)
        h.control.containers[uuid(1)].task_state = TaskState.CONTAINER_STOPPING
        h.agent.operate(h.stop_op(1))  # a second worker takes it but must wait for the lock
        time.sleep(0.05)
        assert h.runtime.call_names().count("stop") == 1
    finally:
        gate.set()
        assert h.agent.stop(WAIT) is True
    assert h.runtime.call_names().count("stop") == 2


def test_synchronous_calls_delegate(host: Node) -> None:
    host.running(1)
    host.runtime.containers[uuid(1)].log = "a\nb\n"
    host.runtime.exec_results.append(ExecResult("hi\n", 0))

    assert host.agent.logs(uuid(1), LogOptions(tail=1)) == "b\n"
    assert host.agent.execute(uuid(1), ["echo", "hi"]) == ExecResult("hi\n", 0)
    [call] = [c for c in host.runtime.calls if c.name == "execute"]
    assert call.kwargs == {"timeout": 2.5}  # [docker] execute_timeout
    host.agent.check_image(IMAGE, "never", None)


def test_start_reports_the_host_and_recovers(host: Node) -> None:
    interrupted = host.control.add(
        record(uuid(1), status=Status.CREATING, task_state=TaskState.CONTAINER_CREATING)
    )
    host.runtime.add(interrupted.spec(), status=Status.CREATED)  # the crash came mid-create

    host.agent.start()

    [report] = host.control.hosts
    assert report.host == HOST
    assert report.inventory["cpus"] == 4
    assert report.inventory["memory_capacity"] == int((8192 - 512) * 1.5)
    assert report.inventory["availability_zone"] == "nova"
    assert interrupted.status is Status.ERROR
    assert host.agent._loop is not None and host.agent._loop.is_alive()

    assert host.agent.stop(WAIT) is True
    host.agent._loop.join(WAIT)
    assert not host.agent._loop.is_alive()


def test_heartbeats_continue_while_a_reconciliation_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    node = Node()
    node.agent.cfg = dataclasses.replace(node.agent.cfg, heartbeat_interval=1)
    release = threading.Event()
    monkeypatch.setattr(node.agent.reconciler, "run", lambda after_restart=False: release.wait())
    starter = threading.Thread(target=node.agent.start, daemon=True)
    starter.start()
    try:
        # The first report at start, then at least two heartbeats behind a stuck reconcile.
        assert wait_until(lambda: len(node.control.hosts) >= 3, timeout=WAIT)
        assert {m.host for m in node.control.hosts} == {HOST}
    finally:
        release.set()
        starter.join(WAIT)
        node.agent.stop(WAIT)


# --- what the agent tells its operators -------------------------------------------------------


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_queue_depth_counts_held_operations_and_refusals(host: Node) -> None:
    gate = host.block("stop")
    for n in (1, 2, 3):
        host.running(n)
    rejected = sample("dockyard_agent_operations_rejected_total", host=HOST)

    host.agent.operate(host.stop_op(1))
    assert host.runtime.entered["stop"].wait(WAIT)
    host.agent.operate(host.stop_op(2))
    assert sample("dockyard_agent_operations", host=HOST) == 2
    with pytest.raises(Unavailable):
        host.agent.operate(host.stop_op(3))
    assert sample("dockyard_agent_operations_rejected_total", host=HOST) == rejected + 1

    gate.set()
    assert host.agent.stop(WAIT) is True
    assert sample("dockyard_agent_operations", host=HOST) == 0


def scopes_of_reports(host: Node) -> list[RequestScope | None]:
    """Record the request scope each report to the control side is sent under."""
    seen: list[RequestScope | None] = []
    report = host.control.report

    def recording(message: ContainerReport) -> bool:
        seen.append(current())
        return report(message)

    host.control.report = recording  # type: ignore[method-assign]
    return seen


def test_the_worker_works_for_the_request_of_its_message(
    host: Node, caplog: pytest.LogCaptureFixture
) -> None:
    c = host.control.add(record(uuid(1), task_state=TaskState.CONTAINER_CREATING))
    started = sample("dockyard_container_create_to_running_seconds_count", host=HOST)
    scopes = scopes_of_reports(host)

    with caplog.at_level(logging.INFO, "dockyard.compute"):
        message = CreateContainer(c.spec(), run=True, pull_policy="never", request_id="req-a1")
        host.agent.create(message)
        assert host.agent.stop(WAIT) is True

    assert c.status is Status.RUNNING
    assert scopes and set(scopes) == {RequestScope("req-a1")}
    assert any(r.getMessage().startswith("created container") for r in caplog.records)
    assert current() is None  # nothing leaks into the caller
    assert sample("dockyard_container_create_to_running_seconds_count", host=HOST) == started + 1


def test_a_caller_scope_reaches_the_worker_whole(host: Node) -> None:
    c = host.control.add(record(uuid(1), task_state=TaskState.CONTAINER_CREATING))
    scopes = scopes_of_reports(host)
    with bound(RequestScope("req-b2", "carol", "proj")):
        host.agent.create(CreateContainer(c.spec(), True, "never", "req-b2"))
    assert host.agent.stop(WAIT) is True
    assert scopes and set(scopes) == {RequestScope("req-b2", "carol", "proj")}
