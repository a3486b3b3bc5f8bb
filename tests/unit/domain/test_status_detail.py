"""The `docker ps`-style status summary, derived at render time."""

from __future__ import annotations

import datetime as dt

import pytest

from dockyard.domain.states import Status
from dockyard.domain.status_detail import describe, health_of, human_duration, with_health

NOW = dt.datetime(2025, 3, 1, 12, 0, 0)


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(0), "Less than a second"),
        (dt.timedelta(milliseconds=999), "Less than a second"),
        (dt.timedelta(seconds=-30), "Less than a second"),  # clock skew
        (dt.timedelta(seconds=1), "1 second"),
        (dt.timedelta(seconds=2), "2 seconds"),
        (dt.timedelta(seconds=59), "59 seconds"),
        (dt.timedelta(seconds=60), "About a minute"),
        (dt.timedelta(seconds=119), "About a minute"),
        (dt.timedelta(minutes=2), "2 minutes"),
        (dt.timedelta(minutes=59, seconds=59), "59 minutes"),
        (dt.timedelta(minutes=60), "About an hour"),
        (dt.timedelta(minutes=89), "About an hour"),
        (dt.timedelta(minutes=90), "2 hours"),
        (dt.timedelta(hours=47), "47 hours"),
        (dt.timedelta(hours=48), "2 days"),
        (dt.timedelta(days=13), "13 days"),
        (dt.timedelta(days=14), "2 weeks"),
        (dt.timedelta(days=59), "8 weeks"),
        (dt.timedelta(days=60), "2 months"),
        (dt.timedelta(days=729), "24 months"),
        (dt.timedelta(days=730), "2 years"),
        (dt.timedelta(days=3650), "10 years"),
    ],
)
def test_human_duration(delta: dt.timedelta, text: str) -> None:
    assert human_duration(delta) == text


@pytest.mark.parametrize(
    ("status", "started", "finished", "exit_code", "text"),
    [
        (Status.CREATED, None, None, None, "Created"),
        (Status.CREATED, ago(hours=1), None, None, "Created"),
        (Status.RUNNING, ago(minutes=3), None, None, "Up 3 minutes"),
        (Status.RUNNING, ago(seconds=1), None, None, "Up 1 second"),
        (Status.RUNNING, None, None, None, "Up"),
        (Status.RUNNING, ago(days=3), ago(days=4), 1, "Up 3 days"),  # an earlier exit is ignored
        (Status.PAUSED, ago(minutes=5), None, None, "Up 5 minutes (Paused)"),
        (Status.PAUSED, None, None, None, "Up (Paused)"),
        (Status.STOPPED, ago(hours=3), ago(hours=2), 0, "Exited (0) 2 hours ago"),
        (Status.STOPPED, ago(hours=3), ago(seconds=5), 137, "Exited (137) 5 seconds ago"),
        (Status.STOPPED, None, ago(minutes=1), None, "Exited (0) About a minute ago"),
        (Status.STOPPED, ago(hours=3), None, 0, None),  # no finish time: nothing to say
    ],
)
def test_describe(
    status: Status,
    started: dt.datetime | None,
    finished: dt.datetime | None,
    exit_code: int | None,
    text: str | None,
) -> None:
    assert describe(status, started, finished, exit_code, NOW) == text


@pytest.mark.parametrize(
    "status",
    [
        Status.CREATING,
        Status.RESTARTING,
        Status.REBUILDING,
        Status.DELETING,
        Status.DELETED,
        Status.ERROR,
        Status.UNKNOWN,
        Status.DEAD,
    ],
)
def test_describe_leaves_other_statuses_to_the_stored_detail(status: Status) -> None:
    assert describe(status, ago(minutes=3), ago(minutes=1), 1, NOW) is None


def test_every_status_is_covered() -> None:
    described = {Status.CREATED, Status.RUNNING, Status.PAUSED, Status.STOPPED}
    for status in Status:
        result = describe(status, ago(minutes=3), ago(minutes=1), 0, NOW)
        assert (result is not None) is (status in described), status


@pytest.mark.parametrize(
    ("health", "text"),
    [
        (None, "Up 5 seconds"),
        ("starting", "Up 5 seconds (health: starting)"),
        ("healthy", "Up 5 seconds (healthy)"),
        ("unhealthy", "Up 5 seconds (unhealthy)"),
    ],
)
def test_running_summary_carries_the_health_like_docker_ps(health: str | None, text: str) -> None:
    assert describe(Status.RUNNING, ago(seconds=5), None, None, NOW, health) == text
    assert health_of(text) == health
    assert health_of(with_health("Up", health)) == health


def test_paused_and_stopped_summaries_leave_the_health_out() -> None:
    assert describe(Status.PAUSED, ago(seconds=5), None, None, NOW, "healthy") == (
        "Up 5 seconds (Paused)"
    )
    assert describe(Status.STOPPED, ago(seconds=9), ago(seconds=5), 0, NOW, "unhealthy") == (
        "Exited (0) 5 seconds ago"
    )
    assert health_of("Up 5 seconds (Paused)") is None
    assert health_of(None) is None
