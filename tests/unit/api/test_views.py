"""The container representation (spec §4.1, §4.2) and timestamp formats (§1.6)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from dockyard.api.views import containers as views
from dockyard.domain.container_request import (
    CpuPolicy,
    Healthcheck,
    PullPolicy,
    RestartPolicy,
    RestartPolicyName,
)
from dockyard.domain.models import ActionEvent, Container, ContainerAction, RequestContext
from dockyard.domain.states import Status, TaskState

UUID = "5e1f0c2a-8d7b-4c55-9a61-0d3f2b7c9e10"
BASE = "http://zun.example:9517"
NOW = dt.datetime(2025, 3, 1, 10, 17, 44)
ADMIN = RequestContext("req-1", "u-admin", "p-admin", roles=("admin",), is_admin=True)
USER = RequestContext("req-2", "u-1", "p-1", roles=("member",))

# Spec §4.1, every field of the representation.
SPEC_FIELDS = {
    "uuid",
    "links",
    "name",
    "project_id",
    "user_id",
    "image",
    "image_driver",
    "image_pull_policy",
    "command",
    "entrypoint",
    "cpu",
    "cpu_policy",
    "memory",
    "disk",
    "environment",
    "labels",
    "workdir",
    "hostname",
    "ports",
    "addresses",
    "security_groups",
    "restart_policy",
    "interactive",
    "tty",
    "auto_remove",
    "auto_heal",
    "privileged",
    "runtime",
    "healthcheck",
    "registry_id",
    "host",
    "status",
    "status_reason",
    "status_detail",
    "task_state",
    "created_at",
    "updated_at",
}
ADMIN_ONLY = {"host", "image_pull_policy", "privileged", "runtime"}

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$")
ACTION_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def container(**fields: Any) -> Container:
    base: dict[str, Any] = {
        "uuid": UUID,
        "name": "web-1",
        "project_id": "p-1",
        "user_id": "u-1",
        "image": "nginx:1.25",
        "status": Status.RUNNING,
        "command": ("nginx", "-g", "daemon off;"),
        "cpu": 0.5,
        "memory": 256,
        "disk": 10,
        "environment": {"MODE": "prod"},
        "labels": {"tier": "front"},
        "hostname": "web-1",
        "ports": [80],
        "restart_policy": RestartPolicy(RestartPolicyName.ALWAYS),
        "privileged": False,
        "runtime": "runc",
        "host": "compute-3",
        "image_pull_policy": PullPolicy.IF_NOT_PRESENT,
        "started_at": NOW - dt.timedelta(minutes=4),
        "created_at": dt.datetime(2025, 3, 1, 10, 12, 44),
        "updated_at": dt.datetime(2025, 3, 1, 10, 13, 2, 250),
    }
    return Container(**{**base, **fields})


def render(c: Container | None = None, ctx: RequestContext = ADMIN, **kw: Any) -> dict[str, Any]:
    base_url: str | None = kw.pop("base_url", BASE)
    # The fields the default container:get_one:<field> rules hide from non-admins.
    hidden = () if ctx.is_admin else ADMIN_ONLY
    return views.container(c or container(), hidden, base_url, now=kw.pop("now", NOW))


def test_admin_view_has_every_spec_field() -> None:
    assert set(render()) == SPEC_FIELDS


def test_the_view_is_json() -> None:
    view = render()
    assert json.loads(json.dumps(view)) == view


def test_values() -> None:
    view = render()

    assert view["uuid"] == UUID
    assert view["memory"] == "256"
    assert view["cpu"] == 0.5
    assert view["disk"] == 10
    assert view["status"] == "Running"
    assert view["status_detail"] == "Up 4 minutes"
    assert view["task_state"] is None
    assert view["restart_policy"] == {"Name": "always", "MaximumRetryCount": "0"}
    assert view["image_pull_policy"] == "ifnotpresent"
    assert view["command"] == ["nginx", "-g", "daemon off;"]
    assert view["host"] == "compute-3"


def test_links() -> None:
    assert render()["links"] == [
        {"href": f"{BASE}/v1/containers/{UUID}", "rel": "self"},
        {"href": f"{BASE}/containers/{UUID}", "rel": "bookmark"},
    ]


def test_list_items_have_no_links() -> None:
    item = render(base_url=None)

    assert "links" not in item
    assert set(item) == SPEC_FIELDS - {"links"}


@pytest.mark.parametrize("base_url", [BASE, None])
def test_non_admins_do_not_see_admin_fields(base_url: str | None) -> None:
    view = render(ctx=USER, base_url=base_url)

    for key in ADMIN_ONLY:
        assert key not in view  # absent, not null
    expected = SPEC_FIELDS - ADMIN_ONLY - ({"links"} if base_url is None else set())
    assert set(view) == expected


def test_admins_see_admin_fields_even_when_null() -> None:
    view = render(container(host=None, image_pull_policy=None, runtime=None))

    assert set(view) >= ADMIN_ONLY
    assert view["host"] is None and view["runtime"] is None


@pytest.mark.parametrize(("memory", "text"), [(512, "512"), (0, "0"), (None, None)])
def test_memory_is_a_string(memory: int | None, text: str | None) -> None:
    assert render(container(memory=memory))["memory"] == text


def test_defaults_for_unset_values() -> None:
    view = render(container(disk=None, memory=None))

    assert view["disk"] == 0
    assert view["cpu_policy"] == "shared"
    assert view["entrypoint"] is None
    assert view["healthcheck"] is None


def test_cpu_policy_is_its_name() -> None:
    assert render(container(cpu_policy=CpuPolicy.DEDICATED))["cpu_policy"] == "dedicated"


@pytest.mark.parametrize(
    ("policy", "shape"),
    [
        (None, None),
        (RestartPolicy(RestartPolicyName.NO), {"Name": "no", "MaximumRetryCount": "0"}),
        (
            RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
            {"Name": "on-failure", "MaximumRetryCount": "3"},
        ),
        (
            RestartPolicy(RestartPolicyName.UNLESS_STOPPED),
            {"Name": "unless-stopped", "MaximumRetryCount": "0"},
        ),
    ],
)
def test_restart_policy_in_zuns_shape(
    policy: RestartPolicy | None, shape: dict[str, str] | None
) -> None:
    assert render(container(restart_policy=policy))["restart_policy"] == shape


@pytest.mark.parametrize(
    ("check", "shape"),
    [
        (Healthcheck("true"), {"test": "true"}),
        (
            Healthcheck("true", interval=1, retries=2, timeout=3),
            {"test": "true", "interval": 1, "retries": 2, "timeout": 3},
        ),
        (Healthcheck("curl -f x", interval=0), {"test": "curl -f x", "interval": 0}),
    ],
)
def test_healthcheck_in_zuns_shape_with_the_durations_given(
    check: Healthcheck, shape: dict[str, object]
) -> None:
    assert render(container(healthcheck=check))["healthcheck"] == shape


def test_argv_values_are_lists() -> None:
    view = render(container(command=("sh", "-c", "true"), entrypoint=("/bin/tini", "--")))

    assert (view["command"], view["entrypoint"]) == (["sh", "-c", "true"], ["/bin/tini", "--"])
    assert json.loads(json.dumps(view))["entrypoint"] == ["/bin/tini", "--"]


def test_task_state_is_its_lower_case_name() -> None:
    view = render(container(task_state=TaskState.CONTAINER_STOPPING))

    assert view["task_state"] == "container_stopping"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2025, 3, 1, 10, 12, 44), "2025-03-01 10:12:44"),
        (dt.datetime(2025, 3, 1, 10, 12, 44, 5), "2025-03-01 10:12:44.000005"),
        (dt.datetime(2025, 3, 1, 10, 12, 44, 123456), "2025-03-01 10:12:44.123456"),
        (dt.datetime(2025, 3, 1, 10, 12, 44, tzinfo=dt.UTC), "2025-03-01 10:12:44"),
        (None, None),
    ],
)
def test_container_timestamps(value: dt.datetime | None, text: str | None) -> None:
    view = render(container(created_at=value, updated_at=value))

    assert view["created_at"] == text
    assert view["updated_at"] == text
    if text is not None:
        assert STAMP.match(text)


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"status": Status.RUNNING}, "Up 4 minutes"),
        # The health, kept in the stored summary, follows the recomputed uptime.
        (
            {"status": Status.RUNNING, "status_detail": "Up 1 second (healthy)"},
            "Up 4 minutes (healthy)",
        ),
        (
            {"status": Status.RUNNING, "status_detail": "Up 1 second (health: starting)"},
            "Up 4 minutes (health: starting)",
        ),
        ({"status": Status.PAUSED}, "Up 4 minutes (Paused)"),
        ({"status": Status.CREATED, "started_at": None}, "Created"),
        (
            {"status": Status.STOPPED, "finished_at": NOW - dt.timedelta(hours=2), "exit_code": 1},
            "Exited (1) 2 hours ago",
        ),
        ({"status": Status.DEAD, "status_detail": "Dead"}, "Dead"),
        ({"status": Status.ERROR, "status_detail": None}, None),
        ({"status": Status.RESTARTING, "status_detail": "Restarting (1) 1 second ago"}, None),
    ],
)
def test_status_detail_is_derived_or_stored(fields: dict[str, Any], detail: str | None) -> None:
    view = render(container(**fields))

    expected = detail if detail is not None else fields.get("status_detail")
    assert view["status_detail"] == expected


def test_action_and_event_timestamps() -> None:
    start = dt.datetime(2025, 3, 1, 10, 12, 44)
    action = ContainerAction(
        action="stop",
        container_uuid=UUID,
        request_id="req-9",
        user_id="u-1",
        project_id="p-1",
        start_time=start,
        finish_time=start + dt.timedelta(microseconds=1500),
    )
    view = views.action(action)

    assert view == {
        "action": "stop",
        "container_uuid": UUID,
        "request_id": "req-9",
        "user_id": "u-1",
        "project_id": "p-1",
        "start_time": "2025-03-01T10:12:44.000000",
        "finish_time": "2025-03-01T10:12:44.001500",
        "message": None,
    }
    assert ACTION_STAMP.match(view["start_time"]) and ACTION_STAMP.match(view["finish_time"])
    assert views.action(ContainerAction("stop", UUID, "r", "u", "p", start))["finish_time"] is None


@pytest.mark.parametrize("show_traceback", [True, False])
def test_event_view(show_traceback: bool) -> None:
    event = ActionEvent(
        event="compute__do_container_stop",
        start_time=dt.datetime(2025, 3, 1, 10, 12, 44, 7),
        finish_time=None,
        result="Error",
        traceback="Traceback ...",
    )

    view = views.event(event, show_traceback)

    assert view == {
        "event": "compute__do_container_stop",
        "start_time": "2025-03-01T10:12:44.000007",
        "finish_time": None,
        "result": "Error",
        "traceback": "Traceback ..." if show_traceback else None,
    }
