"""The agent's operations against fake drivers and a recording control plane."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dockyard.compute.operations import LOCAL_IMAGE_TTL
from dockyard.compute.reconcile import STUCK_TASK_AFTER, Reconciler
from dockyard.domain.container_request import PullPolicy
from dockyard.domain.errors import Conflict, DriverError, InvalidImage, NotFound, RegistryAuthFailed
from dockyard.domain.models import Container
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.reports import ContainerChange
from dockyard.domain.states import IN_FLIGHT, Status, TaskState
from dockyard.rpc.messages import ContainerOperation, ContainerReport, CreateContainer
from tests.fakes.control import INSTALLATION, RecordingControl, ReportHook
from tests.unit.compute.helpers import HOST, IMAGE, UUID, World, record

OTHER_IMAGE = "registry.example.com/team/app:1"


def create_message(c: Container, run: bool = True, policy: str = "ifnotpresent") -> CreateContainer:
    return CreateContainer(spec=c.spec(), run=run, pull_policy=policy, request_id="req-create")


def add(world: World, **fields: Any) -> Container:
    """A record on the control plane; without a status, a new one as the API stores it."""
    if "status" not in fields:
        fields.setdefault("task_state", TaskState.CONTAINER_CREATING)
    return world.control.add(record(**fields))


def guards(control: RecordingControl) -> list[str]:
    return [r.expect for r in control.reports]


def without_event(report: ContainerReport) -> ContainerReport:
    return dataclasses.replace(report, event=None)


# --- create -------------------------------------------------------------------------------


def test_run_of_a_local_image_reports_starting_then_running(world: World) -> None:
    c = add(world)

    world.ops.create(create_message(c))

    # container_creating was stored by the API with the record: not reported again.
    assert world.control.task_states() == ["container_starting", None]
    assert guards(world.control) == ["container_creating", "container_starting"]
    assert all(h.applied for h in world.control.handled)
    final = world.control.reports[-1]
    assert final.change.status == "Running"
    assert final.change.reason is None
    assert final.release_claim is False
    assert c.status is Status.RUNNING
    assert c.task_state is None
    assert c.runtime_id is not None and c.started_at is not None
    assert world.runtime.call_names() == ["create", "start", "inspect"]
    assert world.images.pulls == []  # present locally, policy ifnotpresent
    assert world.control.release_count(UUID) == 0


def test_run_with_a_pull_reports_every_step(world: World) -> None:
    world.images.local.clear()
    c = add(world)

    world.ops.create(create_message(c))

    assert world.control.task_states() == [
        "image_pulling",
        "container_creating",
        "container_starting",
        None,
    ]
    assert guards(world.control) == [
        "container_creating",
        "image_pulling",
        "container_creating",
        "container_starting",
    ]
    assert world.images.pulls == [IMAGE]
    assert c.status is Status.RUNNING


def test_create_event_travels_with_the_final_report(world: World) -> None:
    c = add(world)

    world.ops.create(create_message(c))

    [sent] = world.control.events
    event = sent.event
    assert world.control.reports[-1].event == sent
    assert sent.uuid == UUID
    assert sent.request_id == "req-create"
    assert event.event == "compute__do_container_create"
    assert event.result == "Success"
    assert event.traceback is None
    assert event.finish_time is not None and event.start_time <= event.finish_time


def test_create_without_run_is_one_report(world: World) -> None:
    c = add(world)

    world.ops.create(create_message(c, run=False))

    assert world.control.task_states() == [None]
    assert guards(world.control) == ["container_creating"]
    assert c.status is Status.CREATED
    assert c.task_state is None
    assert "start" not in world.runtime.call_names()
    assert world.runtime.containers[UUID].status is Status.CREATED


@pytest.mark.parametrize(
    ("policy", "local", "pulled"),
    [
        (PullPolicy.ALWAYS, True, True),
        (PullPolicy.ALWAYS, False, True),
        (PullPolicy.IF_NOT_PRESENT, True, False),
        (PullPolicy.IF_NOT_PRESENT, False, True),
        (PullPolicy.NEVER, True, False),
    ],
)
def test_pull_only_when_needed(world: World, policy: PullPolicy, local: bool, pulled: bool) -> None:
    if not local:
        world.images.local.clear()
    c = add(world)

    world.ops.create(create_message(c, policy=policy))

    assert world.images.pulls == ([IMAGE] if pulled else [])
    assert c.status is Status.RUNNING


def test_never_with_a_missing_image_is_an_error_naming_the_image(world: World) -> None:
    world.images.local.clear()
    c = add(world)

    world.ops.create(create_message(c, policy="never"))

    assert world.images.pulls == []
    assert world.images.remote_checks == []
    assert world.runtime.call_names() == []
    assert c.status is Status.ERROR
    assert c.task_state is None
    assert c.status_reason is not None and IMAGE in c.status_reason
    [last] = world.control.reports
    assert last.release_claim is True
    assert last.expect == "container_creating"
    assert world.control.release_count(UUID) == 1
    [sent] = world.control.events
    event = sent.event
    assert event.result == "Error" and event.traceback


def test_a_failed_pull_is_an_error(world: World) -> None:
    c = add(world, image=OTHER_IMAGE)
    world.images.registry.clear()

    world.ops.create(create_message(c, policy="always"))

    assert world.images.pulls == [OTHER_IMAGE]
    assert world.control.reports[-1].expect == "image_pulling"
    assert c.status is Status.ERROR
    assert c.status_reason is not None and OTHER_IMAGE in c.status_reason
    assert world.control.release_count(UUID) == 1


@pytest.mark.parametrize(
    ("operation", "guard", "task_states"),
    [
        ("create", "container_creating", [None]),
        ("start", "container_starting", ["container_starting", None]),
    ],
)
def test_runtime_failure_ends_in_error_and_releases_the_claim(
    world: World, operation: str, guard: str, task_states: list[str | None]
) -> None:
    world.runtime.fail_on[operation] = DriverError(f"Docker Engine error (500): {operation} no")
    c = add(world)

    world.ops.create(create_message(c))

    assert world.control.task_states() == task_states
    last = world.control.reports[-1]
    assert without_event(last) == ContainerReport(
        UUID,
        ContainerChange.failed(f"Docker Engine error (500): {operation} no"),
        TaskState(guard),
        release_claim=True,
    )
    assert c.status is Status.ERROR
    assert c.task_state is None
    assert c.status_reason == f"Docker Engine error (500): {operation} no"
    assert world.control.release_count(UUID) == 1
    [sent] = world.control.events
    event = sent.event
    assert last.event == sent
    assert event.result == "Error"
    assert event.traceback is not None and "DriverError" in event.traceback


def test_unexpected_exception_during_create(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(uuid: str) -> None:
        raise ValueError("kaboom")

    monkeypatch.setattr(world.runtime, "start", explode)
    c = add(world)

    world.ops.create(create_message(c))

    assert c.status is Status.ERROR
    assert c.status_reason == "Unexpected error: kaboom"
    assert c.task_state is None
    assert world.control.release_count(UUID) == 1


def take_over_after(count: int) -> ReportHook:
    """A report hook: after ``count`` reports, a forced delete takes the record over."""

    def hook(control: RecordingControl, report: ContainerReport, applied: bool) -> None:
        if len(control.handled) == count:
            control.containers[report.uuid].task_state = TaskState.CONTAINER_DELETING

    return hook


def test_a_delete_that_took_over_before_the_start_is_left_to_finish(world: World) -> None:
    c = add(world, task_state=TaskState.CONTAINER_DELETING)

    world.ops.create(create_message(c))

    # The only report failed its guard; the queued delete removes what was created.
    assert [h.applied for h in world.control.handled] == [False]
    assert world.runtime.call_names() == ["create"]
    assert UUID in world.runtime.containers
    assert c.task_state is TaskState.CONTAINER_DELETING
    assert c.status is Status.CREATING
    assert world.control.events == []
    assert world.control.release_count(UUID) == 0


def test_take_over_during_start_drops_the_final_report(world: World) -> None:
    c = add(world)
    world.control.on_report.append(take_over_after(1))

    world.ops.create(create_message(c))

    assert [h.applied for h in world.control.handled] == [True, False]
    assert world.control.reports[-1].expect == "container_starting"
    assert world.runtime.call_names() == ["create", "start", "inspect"]
    assert c.task_state is TaskState.CONTAINER_DELETING
    assert c.status is Status.CREATING
    assert world.control.events == []
    assert world.control.release_count(UUID) == 0


def test_take_over_during_a_pull_touches_no_engine_container(world: World) -> None:
    world.images.local.clear()
    c = add(world)
    world.control.on_report.append(take_over_after(1))

    world.ops.create(create_message(c))

    assert [h.applied for h in world.control.handled] == [True, False]
    assert world.images.pulls == [IMAGE]
    assert world.runtime.call_names() == []


@pytest.mark.parametrize("run", [True, False])
def test_a_record_ended_meanwhile_gets_its_engine_container_removed(
    world: World, run: bool
) -> None:
    # Recovery failed the record (no task left) before this create got to it.
    c = add(world, status=Status.ERROR, task_state=None)

    world.ops.create(create_message(c, run=run))

    assert world.runtime.call_names()[0] == "create"
    assert world.runtime.call_names()[-1] == "remove"
    assert UUID not in world.runtime.containers
    assert c.status is Status.ERROR
    assert world.control.release_count(UUID) == 0


def test_create_of_a_vanished_record_leaves_nothing_behind(world: World) -> None:
    c = record()  # never added to the control plane

    world.ops.create(create_message(c))

    assert len(world.control.handled) == 1
    assert world.runtime.call_names() == ["create", "remove"]
    assert UUID not in world.runtime.containers


def test_a_create_delivered_twice_keeps_the_container_the_first_made(world: World) -> None:
    c = add(world)
    message = create_message(c)
    world.ops.create(message)
    assert c.status is Status.RUNNING

    world.ops.create(message)  # the broker delivers at least once

    assert world.runtime.containers[UUID].status is Status.RUNNING
    assert "remove" not in world.runtime.call_names()
    assert c.status is Status.RUNNING and c.task_state is None


def test_a_create_whose_record_was_failed_meanwhile_removes_what_it_made(world: World) -> None:
    # Recovery gave up on the create (Error, claim released) before it arrived.
    add(world, status=Status.ERROR, task_state=None, status_reason="lost")

    world.ops.create(create_message(record()))

    assert UUID not in world.runtime.containers


# --- check_image --------------------------------------------------------------------------


def test_check_image_never_missing_is_invalid(world: World) -> None:
    world.images.local.clear()

    with pytest.raises(InvalidImage) as info:
        world.ops.check_image(IMAGE, "never")

    assert IMAGE in info.value.detail and HOST in info.value.detail
    assert info.value.fields == {"field": "image"}
    assert world.images.remote_checks == []


def test_check_image_never_local_is_fine(world: World) -> None:
    world.ops.check_image(IMAGE, "Never")

    assert world.images.remote_checks == []


def test_check_image_ifnotpresent_local_skips_the_registry(world: World) -> None:
    world.images.registry.clear()

    world.ops.check_image(IMAGE, "ifnotpresent")

    assert world.images.remote_checks == []


def test_check_image_ifnotpresent_missing_asks_the_registry(world: World) -> None:
    world.ops.check_image(OTHER_IMAGE, "ifnotpresent")

    assert world.images.remote_checks == [OTHER_IMAGE]
    assert world.images.pulls == []  # a check never pulls


def test_check_image_ifnotpresent_missing_everywhere(world: World) -> None:
    with pytest.raises(InvalidImage):
        world.ops.check_image("nowhere/image:1", "ifnotpresent")

    assert world.images.remote_checks == ["nowhere/image:1"]


@pytest.mark.parametrize("image", [IMAGE, OTHER_IMAGE])
def test_check_image_always_asks_the_registry(world: World, image: str) -> None:
    world.ops.check_image(image, "always")

    assert world.images.remote_checks == [image]


def test_check_image_always_unknown_to_the_registry(world: World) -> None:
    world.images.registry.clear()

    with pytest.raises(InvalidImage):
        world.ops.check_image(IMAGE, "always")


# --- lifecycle ----------------------------------------------------------------------------

# operation -> (engine status before, runtime method, engine status after)
LIFECYCLE = {
    "start": (Status.CREATED, "start", Status.RUNNING),
    "stop": (Status.RUNNING, "stop", Status.STOPPED),
    "reboot": (Status.RUNNING, "restart", Status.RUNNING),
    "pause": (Status.RUNNING, "pause", Status.PAUSED),
    "unpause": (Status.PAUSED, "unpause", Status.RUNNING),
    "kill": (Status.RUNNING, "kill", Status.STOPPED),
}


def in_flight(world: World, operation: str, engine_status: Status) -> Container:
    """A container the API has just handed to ``operation``."""
    c = add(world, status=engine_status, runtime_id="fake-old")
    task, status = IN_FLIGHT[operation]
    c.task_state = task
    if status is not None:
        c.status = status
    world.runtime.add(c.spec(), status=engine_status)
    return c


def operation(name: str, **fields: Any) -> ContainerOperation:
    return ContainerOperation(UUID, name, "req-op", **fields)


@pytest.mark.parametrize("name", sorted(LIFECYCLE))
def test_lifecycle_success(world: World, name: str) -> None:
    before, method, after = LIFECYCLE[name]
    c = in_flight(world, name, before)

    world.ops.operate(operation(name))

    assert world.runtime.call_names() == [method, "inspect"]
    [report] = world.control.reports
    assert report.expect == str(IN_FLIGHT[name][0])
    assert world.control.handled[0].applied
    assert c.status is after
    assert c.task_state is None
    assert c.status_reason is None
    [sent] = world.control.events
    event = sent.event
    assert event.event == f"compute__do_container_{name}"
    assert sent.request_id == "req-op"
    assert event.result == "Success"
    assert event.traceback is None


@pytest.mark.parametrize("name", sorted(LIFECYCLE))
def test_lifecycle_failure(world: World, name: str) -> None:
    before, method, _ = LIFECYCLE[name]
    c = in_flight(world, name, before)
    world.runtime.fail_on[method] = Conflict("the engine refused")

    world.ops.operate(operation(name))

    assert c.status is before  # what inspect says
    assert c.task_state is None
    assert c.status_reason == f"{name} failed: the engine refused"
    [sent] = world.control.events
    event = sent.event
    assert event.event == f"compute__do_container_{name}"
    assert event.result == "Error"
    assert event.traceback is not None and "Conflict" in event.traceback
    assert world.control.release_count(UUID) == 0


def test_failing_stop_keeps_the_inspected_status(world: World) -> None:
    c = in_flight(world, "stop", Status.RUNNING)
    world.runtime.fail_on["stop"] = DriverError("Docker Engine error (500): cannot kill")

    world.ops.operate(operation("stop"))

    assert c.status is Status.RUNNING
    assert c.status_reason is not None
    assert c.status_reason.startswith("stop failed:")
    assert c.status_reason == "stop failed: Docker Engine error (500): cannot kill"
    assert c.task_state is None


def test_failure_on_a_vanished_container_is_an_error(world: World) -> None:
    c = in_flight(world, "start", Status.STOPPED)
    world.runtime.vanish(UUID)

    world.ops.operate(operation("start"))

    assert c.status is Status.ERROR
    assert c.status_reason is not None and c.status_reason.startswith("start failed: ")
    assert c.task_state is None


def test_unexpected_exception_in_an_operation(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = in_flight(world, "pause", Status.RUNNING)

    def explode(uuid: str) -> None:
        raise RuntimeError("freezer broke")

    monkeypatch.setattr(world.runtime, "pause", explode)

    world.ops.operate(operation("pause"))

    assert c.status_reason == "pause failed: Unexpected error: freezer broke"
    assert world.control.events[0].event.result == "Error"


@pytest.mark.parametrize(("timeout", "used"), [(None, 10), (0, 0), (3, 3)])
def test_stop_and_reboot_timeouts(world: World, timeout: int | None, used: int) -> None:
    in_flight(world, "stop", Status.RUNNING)

    world.ops.operate(operation("stop", timeout=timeout))
    world.control.containers[UUID].task_state = TaskState.CONTAINER_REBOOTING
    world.ops.operate(operation("reboot", timeout=timeout))

    calls = [c for c in world.runtime.calls if c.name in ("stop", "restart")]
    assert [(c.name, c.kwargs["timeout"]) for c in calls] == [("stop", used), ("restart", used)]


@pytest.mark.parametrize(("signal", "exit_code"), [(None, 137), ("SIGTERM", 143), ("9", 137)])
def test_kill_passes_the_signal(world: World, signal: str | None, exit_code: int) -> None:
    c = in_flight(world, "kill", Status.RUNNING)

    world.ops.operate(operation("kill", signal=signal))

    [call] = [x for x in world.runtime.calls if x.name == "kill"]
    assert call.kwargs == {"signal": signal}
    assert c.exit_code == exit_code


def test_the_settle_report_is_guarded(world: World) -> None:
    c = in_flight(world, "stop", Status.RUNNING)
    c.task_state = TaskState.CONTAINER_DELETING  # a forced delete took over meanwhile

    world.ops.operate(operation("stop"))

    assert [h.applied for h in world.control.handled] == [False]
    assert c.status is Status.RUNNING
    assert c.task_state is TaskState.CONTAINER_DELETING


# --- delete -------------------------------------------------------------------------------


@pytest.mark.parametrize("engine_status", [Status.CREATED, Status.STOPPED, Status.DEAD])
def test_delete(world: World, engine_status: Status) -> None:
    in_flight(world, "delete", engine_status)

    world.ops.operate(operation("delete"))

    assert world.runtime.call_names() == ["remove"]
    assert world.runtime.calls[0].kwargs == {"force": False}
    assert UUID not in world.runtime.containers
    assert world.control.removed == [UUID]
    assert UUID not in world.control.containers
    assert world.control.reports == []  # no settle: the record is gone
    assert world.control.events == []  # and its action log with it


def test_delete_force_removes_a_running_container(world: World) -> None:
    in_flight(world, "delete_force", Status.RUNNING)

    world.ops.operate(operation("delete", force=True))

    assert world.runtime.calls[0].kwargs == {"force": True}
    assert world.control.removed == [UUID]


def test_delete_after_stop(world: World) -> None:
    in_flight(world, "delete_after_stop", Status.RUNNING)

    world.ops.operate(operation("delete", stop_first=True, timeout=2))

    assert [(c.name, c.kwargs) for c in world.runtime.calls] == [
        ("stop", {"timeout": 2}),
        ("remove", {"force": False}),
    ]
    assert world.control.removed == [UUID]


def test_delete_of_a_container_the_engine_lost(world: World) -> None:
    in_flight(world, "delete", Status.STOPPED)
    world.runtime.vanish(UUID)

    world.ops.operate(operation("delete"))

    assert world.control.removed == [UUID]
    assert UUID not in world.control.containers


def test_failing_delete_keeps_the_record(world: World) -> None:
    c = in_flight(world, "delete", Status.STOPPED)
    world.runtime.fail_on["remove"] = DriverError("device busy")

    world.ops.operate(operation("delete"))

    assert world.control.removed == []
    assert c.status is Status.STOPPED
    assert c.task_state is None
    assert c.status_reason == "delete failed: device busy"
    assert world.control.events[0].event.result == "Error"


def test_delete_of_a_running_container_without_force_fails(world: World) -> None:
    c = in_flight(world, "delete", Status.RUNNING)

    world.ops.operate(operation("delete"))

    assert world.control.removed == []
    assert c.status is Status.RUNNING
    assert c.status_reason is not None and c.status_reason.startswith("delete failed: ")


# --- private registries ----------------------------------------------------------------------

PRIVATE = "127.0.0.1:5002/team/app:1"
GOOD = RegistryAuth("127.0.0.1:5002", "robot", "right")


def test_create_pulls_with_the_registry_credentials(world: World) -> None:
    world.images.private[PRIVATE] = GOOD
    world.images.registry.add(PRIVATE)
    c = add(world, image=PRIVATE)

    world.ops.create(dataclasses.replace(create_message(c, policy="always"), auth=GOOD))

    assert world.images.pulls == [PRIVATE] and world.images.auths == [GOOD]
    assert c.status is Status.RUNNING


def test_create_with_refused_credentials_is_an_error_saying_so(world: World) -> None:
    world.images.private[PRIVATE] = GOOD
    world.images.registry.add(PRIVATE)
    c = add(world, image=PRIVATE)
    wrong = RegistryAuth("127.0.0.1:5002", "robot", "wrong")

    world.ops.create(dataclasses.replace(create_message(c, policy="always"), auth=wrong))

    assert c.status is Status.ERROR
    assert c.status_reason is not None and "refused authentication" in c.status_reason
    assert "wrong" not in c.status_reason
    assert world.control.release_count(UUID) == 1


def test_check_image_asks_the_registry_with_the_credentials(world: World) -> None:
    world.images.private[PRIVATE] = GOOD
    world.images.registry.add(PRIVATE)

    world.ops.check_image(PRIVATE, "ifnotpresent", GOOD)
    with pytest.raises(RegistryAuthFailed):
        world.ops.check_image(PRIVATE, "ifnotpresent", None)

    assert world.images.remote_checks == [PRIVATE, PRIVATE]
    assert world.images.auths == [GOOD, None]


def test_an_image_seen_locally_is_trusted_for_a_while(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked: list[str] = []
    exists = world.images.exists_locally
    monkeypatch.setattr(
        world.images, "exists_locally", lambda image: looked.append(image) or exists(image)
    )

    for _ in range(3):
        world.ops.check_image(IMAGE, "ifnotpresent")
        world.ops._ensure_image(IMAGE, "ifnotpresent")  # what a create asks first
    assert looked == [IMAGE]
    assert world.images.pulls == []

    world.clock.advance(LOCAL_IMAGE_TTL + 1)
    world.ops.check_image(IMAGE, "ifnotpresent")
    assert looked == [IMAGE, IMAGE]


def test_an_image_found_missing_is_asked_about_again(world: World) -> None:
    world.images.local.clear()

    for _ in range(2):
        with pytest.raises(InvalidImage):
            world.ops.check_image(IMAGE, "never")
    world.images.local.add(IMAGE)

    world.ops.check_image(IMAGE, "never")


def test_an_image_removed_since_it_was_seen_is_pulled_again(world: World) -> None:
    world.ops.check_image(IMAGE, "ifnotpresent")  # seen on the engine, remembered
    world.images.local.clear()  # then removed behind the agent's back
    c = add(world)

    world.ops.create(create_message(c))

    assert world.images.pulls == [IMAGE]
    assert world.control.task_states() == [
        "image_pulling",
        "container_creating",
        "container_starting",
        None,
    ]
    assert c.status is Status.RUNNING
    assert world.runtime.call_names() == ["create", "create", "start", "inspect"]


def test_an_image_removed_since_it_was_seen_is_not_pulled_against_the_policy(
    world: World,
) -> None:
    world.ops.check_image(IMAGE, "never")
    world.images.local.clear()
    c = add(world)

    world.ops.create(create_message(c, policy="never"))

    assert world.images.pulls == []
    assert c.status is Status.ERROR
    assert c.status_reason is not None and IMAGE in c.status_reason
    assert world.control.release_count(UUID) == 1


def test_an_engine_that_keeps_refusing_the_image_fails_the_create_after_one_retry(
    world: World,
) -> None:
    c = add(world)
    world.runtime.fail_on["create"] = NotFound("No such image: busybox")

    world.ops.create(create_message(c))

    assert world.runtime.call_names() == ["create", "create"]
    assert world.images.pulls == []  # the engine still lists it: nothing to pull
    assert c.status is Status.ERROR and c.status_reason == "No such image: busybox"


# --- the report ending an operation that succeeded is a cast --------------------------------


class LosingSettles(RecordingControl):
    """A control plane the ``settle`` casts never reach (lost between broker and conductor)."""

    def __init__(self, world: World) -> None:
        super().__init__(clock=world.clock)
        self.lost: list[ContainerReport] = []

    def settle(self, message: ContainerReport) -> None:
        self.lost.append(message)


def stuck_repair(world: World) -> None:
    """Let ``stuck_task_after`` pass, then run one reconciliation pass."""
    world.clock.advance(STUCK_TASK_AFTER.total_seconds() + 1)
    Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION).run()


def test_a_started_create_ends_with_a_cast_and_a_lost_one_is_repaired(world: World) -> None:
    world.control = world.ops.control = LosingSettles(world)
    c = add(world)

    world.ops.create(create_message(c, run=True))

    # The step that needs its answer was a call; the final report went as a cast.
    [lost] = world.control.lost  # type: ignore[attr-defined]
    assert (lost.expect, lost.change.status, lost.change.task) == (
        "container_starting",
        "Running",
        None,
    )
    assert lost.event is not None and lost.event.event.result == "Success"
    assert (c.status, c.task_state) == (Status.CREATING, TaskState.CONTAINER_STARTING)

    stuck_repair(world)

    assert (c.status, c.task_state) == (Status.RUNNING, None)
    assert c.runtime_id == world.runtime.inspect(UUID).runtime_id
    assert world.runtime.containers[UUID].status is Status.RUNNING  # the container stays


def test_a_created_only_container_waits_for_its_final_report(world: World) -> None:
    # Not cast: should the record have been ended meanwhile, what was made must go.
    world.control = world.ops.control = LosingSettles(world)
    c = add(world)

    world.ops.create(create_message(c, run=False))

    assert world.control.lost == []  # type: ignore[attr-defined]
    assert (c.status, c.task_state) == (Status.CREATED, None)


def test_a_lost_stop_report_is_repaired_to_what_the_engine_shows(world: World) -> None:
    world.control = world.ops.control = LosingSettles(world)
    c = add(
        world,
        status=Status.RUNNING,
        task_state=TaskState.CONTAINER_STOPPING,
        updated_at=world.clock.now(),
    )
    world.runtime.add(c.spec(), status=Status.RUNNING)

    world.ops.operate(ContainerOperation(UUID, "stop", "req-stop", timeout=0))

    assert [r.change.status for r in world.control.lost] == ["Stopped"]  # type: ignore[attr-defined]
    assert c.task_state is TaskState.CONTAINER_STOPPING

    stuck_repair(world)

    assert (c.status, c.task_state) == (Status.STOPPED, None)


def test_a_failed_operation_is_reported_by_call(world: World) -> None:
    world.control = world.ops.control = LosingSettles(world)
    c = add(world, status=Status.RUNNING, task_state=TaskState.CONTAINER_STOPPING)
    world.runtime.add(c.spec(), status=Status.RUNNING)
    world.runtime.fail_on["stop"] = DriverError("engine refused")

    world.ops.operate(ContainerOperation(UUID, "stop", "req-stop", timeout=0))

    assert world.control.lost == []  # type: ignore[attr-defined]
    assert c.task_state is None and "engine refused" in (c.status_reason or "")
