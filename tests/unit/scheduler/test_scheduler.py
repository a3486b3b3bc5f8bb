"""Filters, the spread weigher, `select()` ordering and `explain()`."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from dockyard.domain.models import Host
from dockyard.scheduler.filters.availability_zone import AvailabilityZoneFilter
from dockyard.scheduler.filters.compute import ComputeFilter
from dockyard.scheduler.filters.requested_host import RequestedHostFilter
from dockyard.scheduler.filters.resources import (
    CpuFilter,
    DedicatedCpuFilter,
    DiskQuotaFilter,
    RamFilter,
)
from dockyard.scheduler.filters.runtime import RuntimeFilter
from dockyard.scheduler.request import PlacementRequest
from dockyard.scheduler.scheduler import DEFAULT_FILTERS, explain, select
from dockyard.scheduler.weighers.spread import SpreadWeigher
from tests.factories import host
from tests.factories import placement as request

# --- each filter alone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enabled", "up", "passes"),
    [(True, True, True), (False, True, False), (True, False, False), (False, False, False)],
)
def test_compute_filter(enabled: bool, up: bool, passes: bool) -> None:
    assert ComputeFilter().passes(host(enabled=enabled, up=up), request()) is passes


@pytest.mark.parametrize(
    ("requested", "passes"), [(None, True), ("h1", True), ("h2", False), ("H1", False)]
)
def test_requested_host_filter(requested: str | None, passes: bool) -> None:
    assert RequestedHostFilter().passes(host("h1"), request(requested_host=requested)) is passes


@pytest.mark.parametrize(
    ("zone", "passes"), [(None, True), ("nova", True), ("zone-b", False), ("", False)]
)
def test_availability_zone_filter(zone: str | None, passes: bool) -> None:
    assert AvailabilityZoneFilter().passes(host(), request(availability_zone=zone)) is passes


@pytest.mark.parametrize(
    ("runtimes", "requested", "passes"),
    [
        (("runc",), None, True),
        ((), None, True),
        (("runc",), "runc", True),
        (("runc", "kata"), "kata", True),
        (("runc",), "kata", False),
        ((), "runc", False),
    ],
)
def test_runtime_filter(runtimes: tuple[str, ...], requested: str | None, passes: bool) -> None:
    assert RuntimeFilter().passes(host(runtimes=runtimes), request(runtime=requested)) is passes


@pytest.mark.parametrize(
    ("used", "asked", "passes"),
    [
        (0.0, 8.0, True),
        (7.0, 1.0, True),  # exactly full
        (7.9, 0.1, True),  # float rounding must not refuse an exact fit
        (7.5, 1.0, False),
        (0.0, 8.5, False),
    ],
)
def test_cpu_filter(used: float, asked: float, passes: bool) -> None:
    assert CpuFilter().passes(host(cpu_used=used), request(cpu=asked)) is passes


def test_cpu_filter_exact_fit_after_many_small_claims() -> None:
    used = sum([0.1] * 79)  # 7.8999999...: not exactly 7.9
    assert CpuFilter().passes(host(cpu_used=used), request(cpu=0.1))


@pytest.mark.parametrize(
    ("used", "asked", "passes"),
    [(0, 8192, True), (7680, 512, True), (7681, 512, False), (0, 8193, False)],
)
def test_ram_filter(used: int, asked: int, passes: bool) -> None:
    assert RamFilter().passes(host(memory_used=used), request(memory_mib=asked)) is passes


def test_default_filters_in_order() -> None:
    assert [f.name for f in DEFAULT_FILTERS] == [
        "compute",
        "requested_host",
        "availability_zone",
        "runtime",
        "cpu",
        "ram",
        "dedicated_cpu",
        "disk_quota",
    ]


@pytest.mark.parametrize(
    ("cpu_count", "dedicated", "passes"), [(2, 0, True), (2, 2, True), (2, 3, False), (0, 1, False)]
)
def test_dedicated_cpu_filter_counts_physical_cpus(
    cpu_count: int, dedicated: int, passes: bool
) -> None:
    # ``cpus`` (capacity after the allocation ratio) plays no part in pinning.
    candidate = host(cpus=64.0, cpu_count=cpu_count)
    assert DedicatedCpuFilter().passes(candidate, request(dedicated_cpus=dedicated)) is passes


@pytest.mark.parametrize(
    ("supports", "wanted", "passes"),
    [(False, False, True), (False, True, False), (True, True, True), (True, False, True)],
)
def test_disk_quota_filter(supports: bool, wanted: bool, passes: bool) -> None:
    candidate = host(supports_disk_quota=supports)
    assert DiskQuotaFilter().passes(candidate, request(disk_quota=wanted)) is passes


# --- weigher ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu_used", "memory_used", "score"),
    [
        (0.0, 0, 1.0),
        (4.0, 0, 0.5),
        (0.0, 6144, 0.25),  # the scarcer resource decides
        (6.0, 2048, 0.25),
        (8.0, 8192, 0.0),
    ],
)
def test_spread_weigher(cpu_used: float, memory_used: int, score: float) -> None:
    weighed = SpreadWeigher().score(host(cpu_used=cpu_used, memory_used=memory_used), request())
    assert weighed == pytest.approx(score)


def test_spread_weigher_with_no_capacity() -> None:
    assert SpreadWeigher().score(host(cpus=0, memory_mib=0), request()) == 0.0


# --- select -----------------------------------------------------------------------------


def test_select_orders_by_free_share() -> None:
    busy = host("busy", cpu_used=6.0)
    half = host("half", memory_used=4096)
    idle = host("idle")

    chosen = select(request(), [busy, half, idle], random.Random(0))

    assert [h.name for h in chosen] == ["idle", "half", "busy"]


def test_select_drops_hosts_that_fail_any_filter() -> None:
    hosts = [
        host("down", up=False),
        host("disabled", enabled=False),
        host("other-zone", availability_zone="b"),
        host("no-kata"),
        host("full-cpu", cpu_used=8.0),
        host("full-ram", memory_used=8192),
        host("good", runtimes=("runc", "kata")),
    ]

    chosen = select(request(runtime="kata", availability_zone="nova"), hosts, random.Random(0))

    assert [h.name for h in chosen] == ["good"]


def test_select_honours_the_requested_host() -> None:
    hosts = [host("a"), host("b", cpu_used=4.0)]

    assert [h.name for h in select(request(requested_host="b"), hosts, random.Random(0))] == ["b"]


def test_select_with_nothing_fitting() -> None:
    assert select(request(cpu=100), [host("a"), host("b")], random.Random(0)) == []
    assert select(request(), [], random.Random(0)) == []


def test_ties_are_broken_by_the_rng_deterministically() -> None:
    hosts = [host(f"h{i}") for i in range(6)]

    def order(seed: int) -> list[str]:
        return [h.name for h in select(request(), hosts, random.Random(seed))]

    assert order(42) == order(42)
    # The tie-break is the rng's draws in host order, so it can be predicted.
    draws = random.Random(42)
    keys = {h.name: draws.random() for h in hosts}
    expected = sorted(hosts, key=lambda h: keys[h.name])
    assert order(42) == [h.name for h in expected]
    # Different seeds spread ties over different hosts.
    assert len({order(seed)[0] for seed in range(40)}) > 1


def test_ties_never_beat_a_better_score() -> None:
    hosts = [host(f"tied{i}", cpu_used=4.0) for i in range(5)] + [host("best")]

    for seed in range(20):
        assert select(request(), hosts, random.Random(seed))[0].name == "best"


def test_custom_filters_and_weighers() -> None:
    class Fewest:
        name = "fewest"

        def score(self, h: Host, r: PlacementRequest) -> float:
            return -float(h.containers)

    hosts = [host("a", containers=3), host("b", containers=1), host("c", up=False, containers=0)]

    chosen = select(request(), hosts, random.Random(0), filters=[], weighers=[Fewest()])

    assert [h.name for h in chosen] == ["c", "b", "a"]


# --- explain ----------------------------------------------------------------------------


def test_explain_without_hosts() -> None:
    assert explain(request(), []) == "No compute host has registered."


@pytest.mark.parametrize(
    ("changes", "req", "failed"),
    [
        ({"up": False}, {}, "down"),
        ({"enabled": False}, {}, "disabled"),
        ({"up": False, "enabled": False}, {}, "disabled"),
        ({}, {"requested_host": "elsewhere"}, "requested_host"),
        ({"availability_zone": "b"}, {"availability_zone": "a"}, "availability_zone"),
        ({}, {"runtime": "kata"}, "runtime"),
        ({"cpu_used": 8.0}, {}, "cpu"),
        ({"memory_used": 8000}, {}, "ram"),
    ],
)
def test_explain_names_the_failing_filter(
    changes: dict[str, Any], req: dict[str, Any], failed: str
) -> None:
    text = explain(request(**req), [host("node-1", **changes)])

    assert text == f"There are not enough hosts available (node-1: {failed})."


def test_explain_names_the_first_failure_per_host() -> None:
    down_and_full = host("a", up=False, cpu_used=8.0, memory_used=8192)
    full_cpu_and_ram = host("b", cpu_used=8.0, memory_used=8192)
    fine = host("c")

    text = explain(request(), [down_and_full, full_cpu_and_ram, fine])

    assert text == "There are not enough hosts available (a: down; b: cpu; c: ok)."


def test_explain_and_select_agree() -> None:
    hosts = [host("a"), replace(host("b"), up=False)]

    chosen = {h.name for h in select(request(), hosts, random.Random(0))}
    text = explain(request(), hosts)

    assert chosen == {"a"}
    assert "a: ok" in text and "b: down" in text
