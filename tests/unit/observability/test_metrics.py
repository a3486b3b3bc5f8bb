"""The metrics' helpers: timing wrappers, the reconcile lag and the container counts."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, Histogram, generate_latest
from prometheus_client.registry import CollectorRegistry

from dockyard.observability import metrics

LOCAL = CollectorRegistry()
TIMED = Histogram("test_timed_seconds", "test", ["what", "outcome"], registry=LOCAL)


def count(outcome: str) -> float:
    return (
        LOCAL.get_sample_value("test_timed_seconds_count", {"what": "x", "outcome": outcome}) or 0
    )


def test_timed_counts_each_call_by_outcome() -> None:
    def work(n: int, fail: bool = False) -> int:
        if fail:
            raise RuntimeError("no")
        return n * 2

    wrapped = metrics.timed(TIMED, work, "x")
    assert wrapped(4) == 8
    with pytest.raises(RuntimeError):
        wrapped(1, fail=True)
    assert (count("ok"), count("error")) == (1, 1)
    assert wrapped.__name__ == "work"


def test_the_reconcile_lag_grows_until_a_pass_finishes() -> None:
    now = [100.0]
    clock = metrics.ReconcileClock(lambda: now[0])
    assert clock.lag("h") == 0.0
    clock.started("h")
    now[0] = 107.5
    assert clock.lag("h") == 7.5
    clock.finished("h")
    now[0] = 109.0
    assert clock.lag("h") == 1.5


def test_the_lag_gauge_is_read_at_scrape_time() -> None:
    metrics.RECONCILE_CLOCK.started("lag-host")
    metrics.RECONCILE_CLOCK.finished("lag-host")
    value = REGISTRY.get_sample_value("dockyard_reconcile_lag_seconds", {"host": "lag-host"})
    assert value is not None and 0 <= value < 5


def test_container_counts_come_from_the_source_at_scrape() -> None:
    calls: list[int] = []

    def source() -> list[tuple[str, str, int]]:
        calls.append(1)
        return [("h1", "Running", 3), ("", "Creating", 1)]

    metrics.count_containers_with(source)
    try:
        assert calls == []  # registering or setting queries nothing
        labels = {"host": "h1", "status": "Running"}
        assert REGISTRY.get_sample_value("dockyard_containers", labels) == 3
        assert REGISTRY.get_sample_value("dockyard_containers", {"host": "", "status": "Creating"})
    finally:
        metrics.count_containers_with(None)
    assert REGISTRY.get_sample_value("dockyard_containers", labels) is None


def test_a_failing_count_leaves_the_rest_of_the_scrape(caplog: pytest.LogCaptureFixture) -> None:
    def unreachable() -> list[tuple[str, str, int]]:
        raise ConnectionError("database unreachable")

    metrics.count_containers_with(unreachable)
    try:
        exposition = generate_latest(REGISTRY).decode()
    finally:
        metrics.count_containers_with(None)
    assert "# TYPE dockyard_containers gauge" in exposition
    assert "dockyard_api_request_duration_seconds" in exposition
    assert "could not count containers" in caplog.text
