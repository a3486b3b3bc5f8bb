"""What a report changes on a record, and how an observation becomes one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dockyard.domain.models import ObservedContainer
from dockyard.domain.reports import (
    ANY_TASK,
    OOM_REASON,
    ContainerChange,
    RuntimeFields,
    reason_of,
)
from dockyard.domain.states import Status, TaskState

UUID = "0b7a3f4e-1111-4c2d-9e3f-000000000001"
STARTED = dt.datetime(2025, 1, 1, 12, 0, 0)


def observation(**fields: Any) -> ObservedContainer:
    base: dict[str, Any] = {
        "uuid": UUID,
        "runtime_id": "abc",
        "status": Status.STOPPED,
        "status_detail": "Exited (1) 1 second ago",
    }
    return ObservedContainer(**{**base, **fields})


def test_an_observation_sets_status_reason_and_every_runtime_field() -> None:
    obs = observation(exit_code=1, restart_count=2, ports=(80, 443), started_at=STARTED)

    assert ContainerChange.observed(obs).fields() == {
        "status": Status.STOPPED,
        "status_reason": None,
        "runtime_id": "abc",
        "status_detail": "Exited (1) 1 second ago",
        "exit_code": 1,
        "restart_count": 2,
        "hostname": None,
        "ports": [80, 443],
        "started_at": STARTED,
        "finished_at": None,
    }


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"oom_killed": True, "error": "x"}, OOM_REASON),
        ({"error": "exec format error"}, "exec format error"),
        ({}, None),
    ],
)
def test_the_reason_an_observation_implies(fields: dict[str, Any], reason: str | None) -> None:
    assert reason_of(observation(**fields)) == reason
    assert ContainerChange.observed(observation(**fields)).reason == reason


def test_a_given_reason_overrides_the_observed_one_and_the_task_can_end() -> None:
    change = ContainerChange.observed(observation(error="x"), task=None, reason="stop failed")
    assert change.fields()["status_reason"] == "stop failed"
    assert change.fields()["task_state"] is None


def test_a_step_moves_only_the_task() -> None:
    step = ContainerChange(task=TaskState.IMAGE_PULLING)
    assert step.fields() == {"task_state": TaskState.IMAGE_PULLING}


def test_a_failure_is_error_with_its_reason_and_ends_the_task() -> None:
    assert ContainerChange.failed("lost").fields() == {
        "status": Status.ERROR,
        "status_reason": "lost",
        "task_state": None,
    }
    assert "task_state" not in ContainerChange.failed("lost", task=ANY_TASK).fields()


def test_a_reason_alone_leaves_status_and_task() -> None:
    assert ContainerChange(reason="resize failed").fields() == {"status_reason": "resize failed"}
    assert ContainerChange().fields() == {}


def test_a_status_without_a_reason_clears_it() -> None:
    assert ContainerChange(Status.RUNNING).fields() == {
        "status": Status.RUNNING,
        "status_reason": None,
    }


def test_runtime_fields_of_an_observation() -> None:
    obs = observation(hostname="web-1", ports=(80,), started_at=STARTED, restart_count=3)
    assert RuntimeFields.of(obs) == RuntimeFields(
        "abc", "Exited (1) 1 second ago", None, 3, "web-1", (80,), STARTED, None
    )
