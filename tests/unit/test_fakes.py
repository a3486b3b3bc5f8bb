"""The fakes keep the contracts they stand in for (so tests built on them mean something).

The runtime contract itself (lifecycle, refusals, listing, terminals) runs over
``FakeRuntime`` in tests/contract/runtime; here are the fakes' own knobs and the fakes
no contract suite covers.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dockyard.domain.errors import Conflict, DriverError, InvalidImage, NotFound
from dockyard.domain.models import ActionEvent, Container, ExecResult, LogOptions
from dockyard.domain.reports import ANY_TASK, ContainerChange, RuntimeFields, TaskGuard
from dockyard.domain.states import Status, TaskState
from dockyard.rpc.messages import ContainerReport, EventReport
from tests.factories import spec
from tests.fakes.compute import FakeCompute
from tests.fakes.control import RecordingControl
from tests.fakes.runtime import FakeImages, FakeRuntime

UUID = "0b7a3f4e-1111-4c2d-9e3f-000000000001"
SPEC = spec(uuid=UUID, name="c", image="busybox")


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime("node-1")


def test_runtime_failure_injection_and_call_log(runtime: FakeRuntime) -> None:
    runtime.create(SPEC)
    runtime.fail_on["start"] = DriverError("nope")

    with pytest.raises(DriverError):
        runtime.start(UUID)
    assert runtime.inspect(UUID).status is Status.CREATED
    del runtime.fail_on["start"]
    runtime.start(UUID)

    assert runtime.call_names() == ["create", "start", "inspect", "start"]


def test_runtime_logs_exec_and_host_info(runtime: FakeRuntime) -> None:
    runtime.create(SPEC)
    runtime.start(UUID)
    runtime.containers[UUID].log = "1\n2\n3\n"
    runtime.exec_results.append(ExecResult("out", 3))

    assert runtime.logs(UUID, LogOptions()) == "1\n2\n3\n"
    assert runtime.logs(UUID, LogOptions(tail=2)) == "2\n3\n"
    assert runtime.logs(UUID, LogOptions(tail=0)) == ""
    assert runtime.execute(UUID, ["x"], 1) == ExecResult("out", 3)
    assert runtime.execute(UUID, ["x"], 1) == ExecResult("", 0)
    assert runtime.host_info().hostname == "node-1"


def test_runtime_exec_sessions(runtime: FakeRuntime) -> None:
    runtime.create(SPEC)
    with pytest.raises(Conflict):
        runtime.exec_session(UUID, ["sh"], tty=True)
    runtime.start(UUID)
    exec_id = runtime.exec_session(UUID, ["sh"], tty=True)
    assert re.fullmatch(r"[0-9a-f]{64}", exec_id)

    console = runtime.open_exec(UUID, exec_id)
    console.write(b"ls\n")
    assert console.read() == b"ls\n"
    runtime.exec_resize(UUID, exec_id, 30, 100)
    assert runtime.execs[exec_id].size == (30, 100)
    assert runtime.execs[exec_id].command == ("sh",)
    assert console.written == [b"ls\n"]
    with pytest.raises(Conflict):
        runtime.open_exec(UUID, exec_id)

    console.end()  # the process exits
    assert console.read() == b""
    assert console.read() == b""
    with pytest.raises(Conflict):
        console.write(b"late\n")


def test_runtime_attach_and_tty_resize(runtime: FakeRuntime) -> None:
    runtime.create(SPEC)
    with pytest.raises(Conflict):
        runtime.attach(UUID)
    with pytest.raises(Conflict):
        runtime.resize_tty(UUID, 30, 100)
    runtime.start(UUID)

    console = runtime.attach(UUID)
    console.feed(b"prompt$ ")
    assert console.read() == b"prompt$ "
    runtime.resize_tty(UUID, 30, 100)
    assert runtime.containers[UUID].tty_size == (30, 100)
    console.close()
    console.close()
    assert console.read() == b""
    assert runtime.inspect(UUID).status is Status.RUNNING
    assert runtime.call_names()[-2:] == ["resize_tty", "inspect"]
    for call in (runtime.attach, lambda uuid: runtime.resize_tty(uuid, 1, 1)):
        with pytest.raises(NotFound):
            call("missing")


def test_runtime_stopping_ends_the_terminals(runtime: FakeRuntime) -> None:
    runtime.create(SPEC)
    runtime.start(UUID)
    attached = runtime.attach(UUID)
    session = runtime.open_exec(UUID, runtime.exec_session(UUID, ["sh"], tty=True))

    runtime.stop(UUID)

    assert attached.read() == b""
    assert session.read() == b""


def test_runtime_needs_the_image_when_linked_to_images() -> None:
    images = FakeImages(local=[], registry=["busybox"])
    runtime = FakeRuntime("node-1", images=images)

    with pytest.raises(NotFound):
        runtime.create(SPEC)
    images.pull("busybox")
    runtime.create(SPEC)


def test_images() -> None:
    images = FakeImages(local=["busybox"], registry=["nginx:1.25"])

    assert images.exists_locally("busybox:latest")  # normalised
    assert not images.exists_locally("nginx:1.25")
    images.check_remote("nginx:1.25")
    with pytest.raises(InvalidImage):
        images.check_remote("busybox")
    images.pull("nginx:1.25")
    assert images.exists_locally("nginx:1.25")
    with pytest.raises(InvalidImage):
        images.pull("missing")
    images.fail_on["pull"] = InvalidImage("registry down")
    with pytest.raises(InvalidImage, match="registry down"):
        images.pull("nginx:1.25")

    assert images.pulls == ["nginx:1.25", "missing", "nginx:1.25"]
    assert images.remote_checks == ["nginx:1.25", "busybox"]


def container(task: TaskState | None) -> Container:
    return Container(
        uuid=UUID,
        name="c",
        project_id="p",
        user_id="u",
        image="busybox",
        host="node-1",
        task_state=task,
    )


@pytest.mark.parametrize(
    ("task", "expect", "applied"),
    [
        (None, ANY_TASK, True),
        (TaskState.CONTAINER_STOPPING, ANY_TASK, True),
        (None, None, True),
        (TaskState.CONTAINER_STOPPING, None, False),
        (TaskState.CONTAINER_STOPPING, TaskState.CONTAINER_STOPPING, True),
        (TaskState.CONTAINER_DELETING, TaskState.CONTAINER_STOPPING, False),
        (None, TaskState.CONTAINER_STOPPING, False),
    ],
)
def test_control_guards(task: TaskState | None, expect: TaskGuard, applied: bool) -> None:
    control = RecordingControl([container(task)])
    seen = RuntimeFields("abc", started_at=dt.datetime(2025, 1, 1))

    result = control.report(
        ContainerReport(
            UUID,
            ContainerChange(Status.STOPPED, task=None, runtime=seen),
            expect,
            release_claim=True,
        )
    )

    record = control.containers[UUID]
    assert result is applied
    assert (record.status is Status.STOPPED) is applied
    assert control.release_count(UUID) == (1 if applied else 0)
    if applied:
        assert record.task_state is None
        assert record.started_at is not None and record.started_at.year == 2025
    assert control.handled[0].applied is applied


def test_control_missing_record_and_removal() -> None:
    control = RecordingControl()
    assert control.report(ContainerReport(UUID, ContainerChange(Status.RUNNING))) is False

    control.add(container(None))
    control.container_removed(UUID)
    assert control.removed == [UUID]
    assert control.containers_on_host("node-1") == []


def test_control_logs_events() -> None:
    control = RecordingControl()
    at = dt.datetime(2025, 1, 1)
    event = EventReport(UUID, "req", ActionEvent("compute__do_container_stop", at, at, "Success"))

    control.record_event(event)

    assert control.events == [event]


def test_compute_records_calls_in_the_signature_of_compute_api() -> None:
    compute = FakeCompute(results={"commit": "sha256:1"})
    compute.fail["stats"] = DriverError("nope")

    compute.update_limits("node-1", UUID, memory_mib=64, cpu=0.5)
    assert compute.top("node-1", UUID, None) is None
    with pytest.raises(DriverError):
        compute.stats("node-1", UUID)

    assert compute.calls == [
        ("update_limits", ("node-1", UUID, 0.5, 64)),
        ("top", ("node-1", UUID, None)),
        ("stats", ("node-1", UUID)),
    ]
    assert compute.targets() == [
        ("update_limits", "node-1"),
        ("top", "node-1"),
        ("stats", "node-1"),
    ]
    with pytest.raises(TypeError):
        compute.top("node-1", UUID)  # ps_args missing, as the real client would refuse
    with pytest.raises(AttributeError):
        compute.no_such_call("node-1")
