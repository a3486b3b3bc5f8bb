"""The engine-style one-line summary of a container ("Up 3 minutes", "Exited (0) 2 hours ago").

Derived when rendering, from timestamps that only change on real transitions,
so the stored record does not have to be rewritten as time passes.
"""

from __future__ import annotations

import datetime as dt
import re

from dockyard.domain.states import Status


def human_duration(delta: dt.timedelta) -> str:
    """A duration in the words ``docker ps`` uses ("3 minutes", "About an hour")."""
    seconds = int(delta.total_seconds())
    minutes = seconds // 60
    hours = int(delta.total_seconds() / 3600 + 0.5)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


_HEALTH_SUFFIX = re.compile(r" \((?:health: )?(?P<health>starting|healthy|unhealthy)\)$")


def with_health(text: str, health: str | None) -> str:
    """``docker ps`` wording: "Up 3 seconds (healthy)", "Up 1 second (health: starting)"."""
    if health == "starting":
        return f"{text} (health: starting)"
    if health in ("healthy", "unhealthy"):
        return f"{text} ({health})"
    return text


def health_of(summary: str | None) -> str | None:
    """The health state a summary written by :func:`with_health` (or the engine) carries."""
    match = _HEALTH_SUFFIX.search(summary or "")
    return match.group("health") if match else None


def describe(
    status: Status,
    started: dt.datetime | None,
    finished: dt.datetime | None,
    exit_code: int | None,
    now: dt.datetime,
    health: str | None = None,
) -> str | None:
    """The summary for statuses whose wording follows from the timestamps; else None."""
    if status is Status.CREATED:
        return "Created"
    if status in (Status.RUNNING, Status.PAUSED):
        text = f"Up {human_duration(now - started)}" if started else "Up"
        return f"{text} (Paused)" if status is Status.PAUSED else with_health(text, health)
    if status is Status.STOPPED and finished is not None:
        return f"Exited ({exit_code or 0}) {human_duration(now - finished)} ago"
    return None
