"""An audit line per state change: who, what, when, from which request."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from dockyard.domain.states import Status, TaskState
from dockyard.observability import audit
from dockyard.observability.context import RequestScope, bound


def changes(status: str) -> float:
    value = REGISTRY.get_sample_value("dockyard_container_state_changes_total", {"status": status})
    return value or 0.0


def test_a_change_made_for_a_request_names_it_and_its_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = changes("Running")
    with caplog.at_level(logging.INFO, "dockyard.audit"), bound(RequestScope("req-1", "bob", "p")):
        audit.state_changed("c1", "report", {"status": Status.RUNNING, "task_state": None})
    [record] = caplog.records
    assert record.name == "dockyard.audit"
    assert record.getMessage() == (
        "container c1 report: status=Running, task_state=None (request req-1, user bob)"
    )
    assert record.audit == {  # type: ignore[attr-defined]
        "container": "c1",
        "change": "report",
        "status": "Running",
        "task_state": None,
        "task_state_changed": True,
        "container_project_id": None,
        "request_id": "req-1",
        "user_id": "bob",
        "project_id": "p",
    }
    assert changes("Running") == before + 1


def test_a_change_from_the_engine_has_no_request(caplog: pytest.LogCaptureFixture) -> None:
    before = changes("-")
    with caplog.at_level(logging.INFO, "dockyard.audit"):
        audit.state_changed("c2", "update", {"task_state": TaskState.CONTAINER_STOPPING}, "p9")
    [record] = caplog.records
    assert "task_state=container_stopping" in record.getMessage()
    assert "(request -, user -)" in record.getMessage()
    fields = record.audit  # type: ignore[attr-defined]
    assert fields["status"] is None and fields["request_id"] is None
    assert fields["container_project_id"] == "p9"
    assert changes("-") == before + 1


def test_a_removal_is_recorded_as_deleted(caplog: pytest.LogCaptureFixture) -> None:
    before = changes("Deleted")
    with caplog.at_level(logging.INFO, "dockyard.audit"):
        audit.state_changed("c3", "delete", {})
    [record] = caplog.records
    assert record.getMessage().startswith("container c3 delete: status=Deleted")
    assert changes("Deleted") == before + 1
