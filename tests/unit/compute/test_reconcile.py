"""Reconciliation of records with what the (fake) runtime really has."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from prometheus_client import REGISTRY

from dockyard.compute.reconcile import LOST_CREATE_AFTER, Reconciler
from dockyard.domain.errors import DriverError
from dockyard.domain.models import Container
from dockyard.domain.states import Status, TaskState
from tests.fakes.control import INSTALLATION
from tests.unit.compute.helpers import HOST, UUID, World, record

OTHER = "0b7a3f4e-1111-4c2d-9e3f-000000000002"


@pytest.fixture
def reconciler(world: World) -> Reconciler:
    return Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION)


def synced(world: World, engine_status: Status = Status.RUNNING, **fields: Any) -> Container:
    """A record and its engine container, in agreement."""
    c = world.control.add(record(status=engine_status, **fields))
    world.runtime.add(c.spec(), status=engine_status)
    if engine_status is Status.RUNNING:
        world.runtime.containers[c.uuid].started_at = dt.datetime(2025, 1, 1, 11, 0, 0)
    observed = world.runtime.inspect(c.uuid)
    c.runtime_id = observed.runtime_id
    c.started_at = observed.started_at
    c.finished_at = observed.finished_at
    c.exit_code = observed.exit_code
    c.restart_count = observed.restart_count
    world.runtime.calls.clear()
    return c


def test_nothing_changed_sends_no_report(world: World, reconciler: Reconciler) -> None:
    synced(world, Status.RUNNING)
    synced(world, Status.CREATED, uuid=OTHER)

    reconciler.run()
    reconciler.run(after_restart=True)

    assert world.control.reports == []
    assert "remove" not in world.runtime.call_names()


def test_status_drift_is_corrected(world: World, reconciler: Reconciler) -> None:
    c = synced(world, Status.RUNNING)
    world.runtime.exit(UUID, exit_code=3)  # the process ended behind our back

    reconciler.run()

    [report] = world.control.reports
    assert report.expect is None
    assert report.change.status == "Stopped"
    assert report.release_claim is False
    assert c.status is Status.STOPPED
    assert c.exit_code == 3
    assert c.finished_at is not None
    # A second pass finds nothing new.
    reconciler.run()
    assert len(world.control.reports) == 1


@pytest.mark.parametrize(
    ("change", "value"),
    # A restart by the engine's restart policy alone is invisible in a listing (no
    # restart count, status unchanged); the engine's event stream has to report it.
    [("runtime_id", "fake-9999"), ("exit_code", 1)],
)
def test_other_drift_is_corrected(
    world: World, reconciler: Reconciler, change: str, value: object
) -> None:
    synced(world, Status.RUNNING)
    setattr(world.runtime.containers[UUID], change, value)

    reconciler.run()

    [report] = world.control.reports
    assert report.change.fields()[change] == value


def test_the_first_sync_fills_what_the_record_lacks(world: World, reconciler: Reconciler) -> None:
    c = world.control.add(record(status=Status.RUNNING))
    world.runtime.add(c.spec(), status=Status.RUNNING)

    reconciler.run()

    assert c.runtime_id == world.runtime.containers[UUID].runtime_id


def test_container_missing_from_the_runtime(world: World, reconciler: Reconciler) -> None:
    c = synced(world, Status.RUNNING)
    world.runtime.vanish(UUID)

    reconciler.run()

    [report] = world.control.reports
    assert report.expect is None
    assert c.status is Status.ERROR
    assert c.status_reason == "The container was removed from the engine outside Dockyard."


def test_a_create_that_finishes_between_listing_and_reading_records_is_not_lost(
    world: World, reconciler: Reconciler
) -> None:
    """The listing predates the container; the record, read after, already shows it made.

    Under load an agent can create, start and settle a container between the engine
    listing and the records read of one pass: the container is there, only the
    listing is too old to show it.
    """
    c = synced(world, Status.RUNNING)
    real_list = world.runtime.list_managed
    world.runtime.list_managed = lambda host=None: [  # type: ignore[method-assign]
        o for o in real_list(host) if o.uuid != UUID
    ]

    reconciler.run()

    assert world.control.reports == []
    assert c.status is Status.RUNNING
    assert "remove" not in world.runtime.call_names()
    assert c.status_detail is None


def test_auto_remove_container_gone_from_the_runtime_leaves_the_api(
    world: World, reconciler: Reconciler
) -> None:
    synced(world, Status.RUNNING, auto_remove=True)
    world.runtime.vanish(UUID)

    reconciler.run()

    assert world.control.reports == []
    assert UUID not in world.control.containers


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Status.ERROR, "runtime_id": "fake-1"},
        {"status": Status.DELETED, "runtime_id": "fake-1"},
        {"status": Status.CREATED, "runtime_id": None},  # never reached the engine
    ],
)
def test_missing_container_already_accounted_for(
    world: World, reconciler: Reconciler, fields: dict[str, Any]
) -> None:
    world.control.add(record(**fields))

    reconciler.run()

    assert world.control.reports == []


def test_orphans_are_removed(world: World, reconciler: Reconciler) -> None:
    synced(world, Status.RUNNING)
    world.runtime.add(record(uuid=OTHER).spec(), status=Status.RUNNING)
    elsewhere = record(uuid="0b7a3f4e-1111-4c2d-9e3f-000000000003", host="node-2")
    world.runtime.add(elsewhere.spec(), status=Status.RUNNING)

    reconciler.run()

    removes = [c for c in world.runtime.calls if c.name == "remove"]
    assert [(c.args, c.kwargs) for c in removes] == [((OTHER,), {"force": True})]
    assert OTHER not in world.runtime.containers
    assert UUID in world.runtime.containers
    assert elsewhere.uuid in world.runtime.containers  # another host's business
    assert world.control.reports == []


ALL_TASKS = list(TaskState)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_records_with_a_task_in_flight_are_left_alone(
    world: World, reconciler: Reconciler, task: TaskState
) -> None:
    c = synced(world, Status.RUNNING)
    c.task_state = task
    world.runtime.exit(UUID)  # drift that would otherwise be reported

    reconciler.run()

    assert world.control.reports == []
    assert world.runtime.call_names() == ["list_managed"]
    assert c.status is Status.RUNNING


@pytest.mark.parametrize(
    ("task", "in_engine"),
    [
        (TaskState.IMAGE_PULLING, True),
        (TaskState.IMAGE_PULLING, False),
        (TaskState.CONTAINER_CREATING, True),
    ],
)
def test_after_restart_an_interrupted_create_fails(
    world: World, reconciler: Reconciler, task: TaskState, in_engine: bool
) -> None:
    c = world.control.add(record(status=Status.CREATING, task_state=task))
    if in_engine:
        world.runtime.add(c.spec(), status=Status.CREATED)

    reconciler.run(after_restart=True)

    assert UUID not in world.runtime.containers
    removes = [x for x in world.runtime.calls if x.name == "remove"]
    assert [(x.args, x.kwargs) for x in removes] == [((UUID,), {"force": True})]
    [report] = world.control.reports
    assert report.expect is task
    assert report.release_claim is True
    assert c.status is Status.ERROR
    assert c.task_state is None
    assert c.status_reason is not None and "did not finish" in c.status_reason
    assert world.control.release_count(UUID) == 1


def test_after_restart_an_interrupted_delete_finishes(world: World, reconciler: Reconciler) -> None:
    c = synced(world, Status.STOPPED)
    c.status, c.task_state = Status.DELETING, TaskState.CONTAINER_DELETING

    reconciler.run(after_restart=True)

    assert UUID not in world.runtime.containers
    assert world.control.removed == [UUID]
    assert UUID not in world.control.containers
    assert world.control.reports == []


def test_after_restart_an_interrupted_delete_of_a_lost_container(
    world: World, reconciler: Reconciler
) -> None:
    world.control.add(
        record(status=Status.DELETING, task_state=TaskState.CONTAINER_DELETING, runtime_id="x")
    )

    reconciler.run(after_restart=True)

    assert world.control.removed == [UUID]


@pytest.mark.parametrize(
    ("task", "engine_status"),
    [
        (TaskState.CONTAINER_STARTING, Status.RUNNING),
        (TaskState.CONTAINER_STOPPING, Status.STOPPED),
        (TaskState.CONTAINER_REBOOTING, Status.RUNNING),
        (TaskState.CONTAINER_PAUSING, Status.PAUSED),
        (TaskState.CONTAINER_UNPAUSING, Status.RUNNING),
        (TaskState.CONTAINER_KILLING, Status.STOPPED),
        (TaskState.CONTAINER_REBUILDING, Status.CREATED),
        (TaskState.NETWORK_ATTACHING, Status.RUNNING),
        (TaskState.NETWORK_DETACHING, Status.RUNNING),
    ],
)
def test_after_restart_other_tasks_take_the_runtime_status(
    world: World, reconciler: Reconciler, task: TaskState, engine_status: Status
) -> None:
    c = world.control.add(record(status=Status.RESTARTING, task_state=task, runtime_id="old"))
    world.runtime.add(c.spec(), status=engine_status)

    reconciler.run(after_restart=True)

    [report] = world.control.reports
    assert report.expect is task
    assert report.release_claim is False
    assert c.status is engine_status
    assert c.task_state is None
    assert c.runtime_id == world.runtime.containers[UUID].runtime_id
    assert "remove" not in world.runtime.call_names()


def test_after_restart_a_lost_container_with_a_task_is_an_error(
    world: World, reconciler: Reconciler
) -> None:
    c = world.control.add(
        record(status=Status.RUNNING, task_state=TaskState.CONTAINER_STOPPING, runtime_id="x")
    )

    reconciler.run(after_restart=True)

    assert c.status is Status.ERROR
    assert c.task_state is None
    assert c.status_reason == "The container disappeared while an operation was running."


def test_a_lost_create_times_out(world: World, reconciler: Reconciler) -> None:
    old = world.clock.now() - LOST_CREATE_AFTER - dt.timedelta(seconds=5)
    c = world.control.add(record(status=Status.CREATING, created_at=old, updated_at=old))

    reconciler.run()

    [report] = world.control.reports
    assert report.expect is None
    assert report.release_claim is True
    assert c.status is Status.ERROR
    assert c.status_reason == "The create request was lost before any host acted on it."
    assert world.control.release_count(UUID) == 1


def test_a_lost_create_uses_created_at_without_updated_at(
    world: World, reconciler: Reconciler
) -> None:
    c = world.control.add(
        record(status=Status.CREATING, created_at=world.clock.now() - dt.timedelta(1))
    )

    reconciler.run()

    assert c.status is Status.ERROR


def test_a_recent_create_is_waited_for(world: World, reconciler: Reconciler) -> None:
    recent = world.clock.now() - LOST_CREATE_AFTER + dt.timedelta(seconds=30)
    world.control.add(record(status=Status.CREATING, created_at=recent, updated_at=recent))

    reconciler.run()
    reconciler.run(after_restart=True)

    assert world.control.reports == []


def test_limit_value() -> None:
    assert dt.timedelta(seconds=120) == LOST_CREATE_AFTER


def test_one_failing_record_does_not_stop_the_pass(world: World, reconciler: Reconciler) -> None:
    world.control.add(record(status=Status.CREATING, task_state=TaskState.CONTAINER_CREATING))
    second = synced(world, Status.RUNNING, uuid=OTHER)
    world.runtime.exit(OTHER)
    world.runtime.fail_on["remove"] = DriverError("engine busy")

    reconciler.run(after_restart=True)

    assert second.status is Status.STOPPED
    assert world.control.containers[UUID].task_state is TaskState.CONTAINER_CREATING


def test_records_of_other_hosts_are_ignored(world: World, reconciler: Reconciler) -> None:
    world.control.add(record(status=Status.RUNNING, host="node-2", runtime_id="x"))

    reconciler.run()

    assert world.control.reports == []


def test_a_summary_listing_does_not_erase_what_inspect_recorded(
    world: World, reconciler: Reconciler
) -> None:
    """Docker's list endpoint (used by list_managed) has no timestamps or restart count.

    The record got them from ``inspect`` when the operation settled; a periodic pass
    over a listing that simply lacks them must not overwrite them with None / 0.
    """
    c = synced(world, Status.RUNNING)
    world.runtime.containers[UUID].restart_count = 2
    c.restart_count = 2
    started = c.started_at
    assert started is not None
    world.runtime.summary_listing = True

    reconciler.run()

    assert world.control.reports == []
    assert c.started_at == started
    assert c.restart_count == 2


def test_a_health_change_is_recorded_from_the_listing(world: World, reconciler: Reconciler) -> None:
    """The engine's listing shows the health ("Up 3 minutes (healthy)"), so a pass catches it."""
    c = synced(world, Status.RUNNING)
    world.runtime.containers[UUID].health = "healthy"
    world.runtime.summary_listing = True

    reconciler.run()

    [report] = world.control.reports
    assert str(report.change.fields()["status_detail"]).endswith(" (healthy)")
    assert c.health == "healthy"
    reconciler.run()
    assert len(world.control.reports) == 1


def _aged(world: World, c: Container, minutes: int) -> None:
    c.updated_at = world.clock.now() - dt.timedelta(minutes=minutes)


def test_a_task_the_agent_is_not_working_on_is_settled_after_a_while(world: World) -> None:
    c = synced(world, Status.RUNNING)
    c.task_state = TaskState.CONTAINER_STOPPING  # e.g. the cast was refused by a busy agent
    _aged(world, c, 10)

    Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION).run()

    assert c.task_state is None
    assert c.status is Status.RUNNING


def test_a_task_the_agent_is_working_on_is_left_alone(world: World) -> None:
    c = synced(world, Status.RUNNING)
    c.task_state = TaskState.CONTAINER_STOPPING
    _aged(world, c, 10)

    Reconciler(
        HOST,
        world.runtime,
        world.control,
        world.clock,
        installation=INSTALLATION,
        busy=lambda: {c.uuid},
    ).run()

    assert c.task_state is TaskState.CONTAINER_STOPPING
    assert world.control.reports == []


def test_a_recent_task_is_left_alone(world: World) -> None:
    c = synced(world, Status.RUNNING)
    c.task_state = TaskState.CONTAINER_STOPPING
    _aged(world, c, 0)

    Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION).run()

    assert c.task_state is TaskState.CONTAINER_STOPPING


def test_a_stuck_create_ends_in_error_and_gives_its_claim_back(world: World) -> None:
    c = world.control.add(record(status=Status.CREATING, task_state=TaskState.IMAGE_PULLING))
    _aged(world, c, 10)

    Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION).run()

    assert (c.status, c.task_state) == (Status.ERROR, None)
    assert "never received the request" in (c.status_reason or "")
    assert world.control.release_count(c.uuid) == 1


def test_a_failed_start_keeps_its_error_over_the_engines_created(world: World) -> None:
    c = synced(world, Status.CREATED)
    c.status, c.status_reason = Status.ERROR, "start failed: exec: /no/such/program not found"
    reconciler = Reconciler(
        HOST, world.runtime, world.control, world.clock, installation=INSTALLATION
    )

    reconciler.run()
    reconciler.refresh(c.uuid)  # as on the engine's late "create" event

    assert world.control.reports == []
    assert c.status is Status.ERROR and "not found" in (c.status_reason or "")


def test_after_restart_a_new_record_the_engine_lacks_is_waited_for(
    world: World, reconciler: Reconciler
) -> None:
    # Stored by the API in container_creating; its create may still be queued for us.
    world.control.add(record(status=Status.CREATING, task_state=TaskState.CONTAINER_CREATING))

    reconciler.run(after_restart=True)

    assert world.control.reports == []
    assert world.runtime.call_names() == ["list_managed"]


def test_a_new_record_no_agent_took_up_fails_once_stale(
    world: World, reconciler: Reconciler
) -> None:
    old = world.clock.now() - LOST_CREATE_AFTER - dt.timedelta(seconds=5)
    c = world.control.add(
        record(
            status=Status.CREATING,
            task_state=TaskState.CONTAINER_CREATING,
            created_at=old,
            updated_at=old,
        )
    )

    reconciler.run()

    assert c.status is Status.ERROR
    assert c.task_state is None
    assert world.control.release_count(UUID) == 1


def test_a_create_the_agent_is_working_on_is_not_taken_for_lost(world: World) -> None:
    # Queued behind other creates for longer than the window: not lost, only late.
    old = world.clock.now() - LOST_CREATE_AFTER - dt.timedelta(seconds=5)
    c = world.control.add(record(status=Status.CREATING, created_at=old, updated_at=old))

    Reconciler(
        HOST,
        world.runtime,
        world.control,
        world.clock,
        installation=INSTALLATION,
        busy=lambda: {c.uuid},
    ).run()

    assert c.status is Status.CREATING
    assert world.control.reports == []


def test_the_repair_windows_are_configurable(world: World) -> None:
    window = dt.timedelta(seconds=5)
    creating = world.control.add(
        record(status=Status.CREATING, updated_at=world.clock.now() - dt.timedelta(seconds=8))
    )
    stopping = synced(world, Status.RUNNING, uuid=OTHER)
    stopping.task_state = TaskState.CONTAINER_STOPPING
    stopping.updated_at = world.clock.now() - dt.timedelta(seconds=8)

    # The default two minutes leave both alone ...
    Reconciler(HOST, world.runtime, world.control, world.clock, installation=INSTALLATION).run()
    assert world.control.reports == []

    # ... five seconds repair both.
    Reconciler(
        HOST,
        world.runtime,
        world.control,
        world.clock,
        installation=INSTALLATION,
        lost_create_after=window,
        stuck_task_after=window,
    ).run()
    assert creating.status is Status.ERROR
    assert creating.status_reason == "The create request was lost before any host acted on it."
    assert (stopping.status, stopping.task_state) == (Status.RUNNING, None)


def test_a_new_record_waits_for_the_configured_window(world: World) -> None:
    seconds_ago = world.clock.now() - dt.timedelta(seconds=8)
    c = world.control.add(
        record(
            status=Status.CREATING,
            task_state=TaskState.CONTAINER_CREATING,
            created_at=seconds_ago,
            updated_at=seconds_ago,
        )
    )
    window = dt.timedelta(seconds=5)

    Reconciler(
        HOST,
        world.runtime,
        world.control,
        world.clock,
        installation=INSTALLATION,
        lost_create_after=window,
    ).run(after_restart=True)

    assert c.status is Status.ERROR


# --- what reconciliation tells its operators --------------------------------------------------


def corrections(kind: str) -> float:
    labels = {"host": HOST, "kind": kind}
    return REGISTRY.get_sample_value("dockyard_reconcile_corrections_total", labels) or 0.0


def test_corrections_are_counted_by_kind(world: World, reconciler: Reconciler) -> None:
    before = {k: corrections(k) for k in ("observed", "orphan_removed", "failed")}
    passes = (
        REGISTRY.get_sample_value("dockyard_reconcile_duration_seconds_count", {"host": HOST})
        or 0.0
    )
    synced(world, Status.RUNNING)
    world.runtime.exit(UUID, exit_code=3)
    world.runtime.add(record(uuid=OTHER).spec(), status=Status.RUNNING)  # an orphan
    old = world.clock.now() - LOST_CREATE_AFTER - dt.timedelta(seconds=5)
    lost = "0b7a3f4e-1111-4c2d-9e3f-000000000009"
    world.control.add(record(uuid=lost, status=Status.CREATING, created_at=old, updated_at=old))

    reconciler.run()
    reconciler.run()  # nothing left to correct

    assert {k: corrections(k) - before[k] for k in before} == {
        "observed": 1,
        "orphan_removed": 1,
        "failed": 1,
    }
    after = REGISTRY.get_sample_value("dockyard_reconcile_duration_seconds_count", {"host": HOST})
    assert after == passes + 2
