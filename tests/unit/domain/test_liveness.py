"""When a compute service counts as up (api-other §10.1)."""

from __future__ import annotations

import datetime as dt

import pytest

from dockyard.domain.models import service_is_up

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)
DOWN_AFTER = dt.timedelta(seconds=25)


@pytest.mark.parametrize(
    ("age", "forced_down", "up"),
    [
        (0.0, False, True),
        (24.9, False, True),
        (25.0, False, True),
        (25.001, False, False),
        (3600.0, False, False),
        (0.0, True, False),
        # A clock behind the reporter's still counts by distance.
        (-10.0, False, True),
        (-30.0, False, False),
    ],
)
def test_up_within_service_down_time(age: float, forced_down: bool, up: bool) -> None:
    seen = NOW - dt.timedelta(seconds=age)
    assert service_is_up(seen, forced_down, NOW, DOWN_AFTER) is up


def test_never_seen_is_down() -> None:
    assert service_is_up(None, False, NOW, DOWN_AFTER) is False
