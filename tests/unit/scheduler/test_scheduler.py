"""Filters and their reasons, the spread weigher, and `place()`: candidates, reasons,
refusals and explanations."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from dockyard.domain.errors import InvalidInput, RequestedHostNotFound, VolumeUnsupported
from dockyard.domain.models import Host
from dockyard.domain.volumes import VOLUMES_UNSUPPORTED
from dockyard.scheduler.filters.availability_zone import AvailabilityZoneFilter
from dockyard.scheduler.filters.compute import ComputeFilter
from dockyard.scheduler.filters.requested_host import RequestedHostFilter
from dockyard.scheduler.filters.resources import (
    CpuFilter,
    DedicatedCpuFilter,
    DiskFilter,
    DiskQuotaFilter,
    RamFilter,
)
from dockyard.scheduler.filters.runtime import RuntimeFilter
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest
from dockyard.scheduler.scheduler import DEFAULT_FILTERS, Placement, place
from dockyard.scheduler.weighers.spread import SpreadWeigher
from tests.factories import host
from tests.factories import placement as request


def select(req: PlacementRequest, hosts: list[Host], rng: random.Random, **kw: Any) -> list[Host]:
    return list(place(req, hosts, rng, **kw).candidates)


def explain(req: PlacementRequest, hosts: list[Host], **kw: Any) -> str:
    return place(req, hosts, random.Random(0), **kw).explain()


# --- each filter alone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enabled", "up", "reason"),
    [
        (True, True, None),
        (False, True, Reason.DISABLED),
        (True, False, Reason.DOWN),
        (False, False, Reason.DISABLED),
    ],
)
def test_compute_filter(enabled: bool, up: bool, reason: Reason | None) -> None:
    assert ComputeFilter().reject(host(enabled=enabled, up=up), request()) is reason


@pytest.mark.parametrize(
    ("requested", "passes"), [(None, True), ("h1", True), ("h2", False), ("H1", False)]
)
def test_requested_host_filter(requested: str | None, passes: bool) -> None:
    rejected = RequestedHostFilter().reject(host("h1"), request(requested_host=requested))
    assert rejected is (None if passes else Reason.REQUESTED_HOST)


@pytest.mark.parametrize(
    ("zone", "passes"), [(None, True), ("nova", True), ("zone-b", False), ("", False)]
)
def test_availability_zone_filter(zone: str | None, passes: bool) -> None:
    rejected = AvailabilityZoneFilter().reject(host(), request(availability_zone=zone))
    assert rejected is (None if passes else Reason.AVAILABILITY_ZONE)


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
    rejected = RuntimeFilter().reject(host(runtimes=runtimes), request(runtime=requested))
    assert rejected is (None if passes else Reason.RUNTIME)


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
    rejected = CpuFilter().reject(host(cpu_used=used), request(cpu=asked))
    assert rejected is (None if passes else Reason.CPU)


def test_cpu_filter_exact_fit_after_many_small_claims() -> None:
    used = sum([0.1] * 79)  # 7.8999999...: not exactly 7.9
    assert CpuFilter().reject(host(cpu_used=used), request(cpu=0.1)) is None


@pytest.mark.parametrize(
    ("used", "asked", "passes"),
    [(0, 8192, True), (7680, 512, True), (7681, 512, False), (0, 8193, False)],
)
def test_ram_filter(used: int, asked: int, passes: bool) -> None:
    rejected = RamFilter().reject(host(memory_used=used), request(memory_mib=asked))
    assert rejected is (None if passes else Reason.RAM)


@pytest.mark.parametrize(
    ("used", "asked", "passes"),
    [
        (0, 100, True),
        (90, 10, True),  # exactly full
        (91, 10, False),
        (0, 101, False),
        (100, 0, True),  # no disk asked: a full disk is no reason
        (120, 0, True),  # nor an over-full one (the host's disk shrank)
    ],
)
def test_disk_filter(used: int, asked: int, passes: bool) -> None:
    rejected = DiskFilter().reject(host(disk_used=used), request(disk_gib=asked))
    assert rejected is (None if passes else Reason.DISK)


def test_disk_filter_counts_disk_a_host_cannot_enforce() -> None:
    # Capacity is not quota enforcement: a host without quota support still fills up.
    full = host(disk_used=100, supports_disk_quota=False)
    assert DiskFilter().reject(full, request(disk_gib=1, disk_quota=False)) is Reason.DISK


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
        "volumes",
        "disk",
    ]


@pytest.mark.parametrize(
    ("cpu_count", "dedicated", "passes"), [(2, 0, True), (2, 2, True), (2, 3, False), (0, 1, False)]
)
def test_dedicated_cpu_filter_counts_physical_cpus(
    cpu_count: int, dedicated: int, passes: bool
) -> None:
    # ``cpus`` (capacity after the allocation ratio) plays no part in pinning.
    candidate = host(cpus=64.0, cpu_count=cpu_count)
    rejected = DedicatedCpuFilter().reject(candidate, request(dedicated_cpus=dedicated))
    assert rejected is (None if passes else Reason.DEDICATED_CPU)


@pytest.mark.parametrize(
    ("supports", "wanted", "passes"),
    [(False, False, True), (False, True, False), (True, True, True), (True, False, True)],
)
def test_disk_quota_filter(supports: bool, wanted: bool, passes: bool) -> None:
    candidate = host(supports_disk_quota=supports)
    rejected = DiskQuotaFilter().reject(candidate, request(disk_quota=wanted))
    assert rejected is (None if passes else Reason.DISK_QUOTA)


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
        ({"disk_used": 100}, {"disk_gib": 1}, "disk"),
        ({"cpu_count": 1}, {"dedicated_cpus": 2}, "dedicated_cpu"),
        ({"supports_disk_quota": False}, {"disk_quota": True}, "disk_quota"),
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


def test_explain_honours_the_filters_in_use() -> None:
    down_and_full = host("a", up=False, cpu_used=8.0, memory_used=8192)

    assert explain(request(), [down_and_full]) == (
        "There are not enough hosts available (a: down)."
    )
    assert explain(request(), [down_and_full], filters=[RamFilter(), CpuFilter()]) == (
        "There are not enough hosts available (a: ram)."
    )
    assert explain(request(), [down_and_full], filters=[]) == (
        "There are not enough hosts available (a: ok)."
    )


# --- place: typed reasons, lasting refusals and passing shortages ----------------------------


def test_place_gives_each_rejected_host_its_reason() -> None:
    hosts = [
        host("down", up=False),
        host("full", cpu_used=8.0),
        host("no-disk", disk_used=100),
        host("good"),
    ]

    placement = place(request(disk_gib=1), hosts, random.Random(0))

    assert [h.name for h in placement.candidates] == ["good"]
    assert placement.rejected == {
        "down": Reason.DOWN,
        "full": Reason.CPU,
        "no-disk": Reason.DISK,
    }
    assert list(placement.verdicts) == ["down", "full", "no-disk", "good"]
    assert placement.refusal is None


def test_no_room_now_is_not_a_refusal() -> None:
    # Every host is down or full: that can change, so the request is placed nowhere
    # and explained, never refused.
    hosts = [host("a", up=False), host("b", memory_used=8192), host("c", disk_used=100)]

    placement = place(request(disk_gib=1), hosts, random.Random(0))

    assert placement.candidates == () and placement.refusal is None
    assert placement.explain() == "There are not enough hosts available (a: down; b: ram; c: disk)."


def test_an_unknown_requested_host_is_refused_with_404() -> None:
    placement = place(request(requested_host="nowhere"), [host("a")], random.Random(0))

    assert isinstance(placement.refusal, RequestedHostNotFound)
    assert placement.refusal.status == 404
    assert placement.refusal.detail == "host: no compute host is named nowhere."
    assert placement.candidates == ()


def test_a_requested_host_that_is_down_is_not_refused() -> None:
    placement = place(request(requested_host="a"), [host("a", up=False)], random.Random(0))

    assert placement.refusal is None
    assert placement.rejected == {"a": Reason.DOWN}


def test_a_runtime_no_host_offers_is_refused_naming_the_known_ones() -> None:
    hosts = [host("a", runtimes=("runc",)), host("b", runtimes=("crun", "runc"), up=False)]

    refusal = place(request(runtime="kata"), hosts, random.Random(0)).refusal

    assert isinstance(refusal, InvalidInput) and refusal.status == 400
    assert refusal.detail == "runtime: kata is not offered by any host (known: crun, runc)."


def test_a_runtime_only_a_down_host_offers_waits_for_it() -> None:
    hosts = [host("a"), host("b", runtimes=("kata",), up=False)]

    placement = place(request(runtime="kata"), hosts, random.Random(0))

    assert placement.refusal is None
    assert placement.rejected == {"a": Reason.RUNTIME, "b": Reason.DOWN}


def test_more_dedicated_cpus_than_any_host_has_is_refused() -> None:
    hosts = [host("a", cpu_count=2), host("b", cpu_count=4)]

    refusal = place(request(dedicated_cpus=5), hosts, random.Random(0)).refusal

    assert isinstance(refusal, InvalidInput) and refusal.status == 400
    assert refusal.detail == "cpu_policy: dedicated needs 5 whole CPUs but no host has more than 4."
    assert place(request(dedicated_cpus=4), hosts, random.Random(0)).refusal is None


def test_a_disk_quota_no_storage_driver_enforces_is_refused() -> None:
    hosts = [host("a", storage_driver="vfs"), host("b", storage_driver="overlay2"), host("c")]

    refusal = place(request(disk_gib=1, disk_quota=True), hosts, random.Random(0)).refusal

    assert isinstance(refusal, InvalidInput) and refusal.status == 400
    assert refusal.detail == (
        "disk: the storage driver (overlay2, unknown, vfs) of the hosts cannot limit "
        "container disk size."
    )
    limited = [*hosts, host("d", supports_disk_quota=True, disk_used=100)]
    placement = place(request(disk_gib=1, disk_quota=True), limited, random.Random(0))
    assert placement.refusal is None, "d could take it once it has room"
    assert placement.rejected["d"] is Reason.DISK


def test_volumes_go_only_where_sizes_can_be_enforced_else_400_naming_why() -> None:
    hosts = [host("a", info={VOLUMES_UNSUPPORTED: "no loop devices"}), host("b", info={})]

    placement = place(request(volumes=True), hosts, random.Random(0))
    assert placement.refusal is None
    assert placement.rejected == {"a": Reason.VOLUMES}
    assert place(request(), hosts[:1], random.Random(0)).refusal is None

    refusal = place(request(volumes=True), hosts[:1], random.Random(0)).refusal
    assert isinstance(refusal, VolumeUnsupported) and refusal.status == 400
    assert refusal.detail == "mounts: no host can enforce volume sizes (a: no loop devices)."


def test_lasting_refusals_come_in_filter_order() -> None:
    hosts = [host("a", cpu_count=1)]
    both = request(requested_host="zz", runtime="kata", dedicated_cpus=2, disk_quota=True)

    assert isinstance(place(both, hosts, random.Random(0)).refusal, RequestedHostNotFound)
    runtime_first = place(replace(both, requested_host=None), hosts, random.Random(0)).refusal
    assert runtime_first is not None and runtime_first.detail.startswith("runtime:")


def test_without_hosts_only_what_names_a_host_or_runtime_is_refused() -> None:
    assert isinstance(
        place(request(requested_host="a"), [], random.Random(0)).refusal, RequestedHostNotFound
    )
    assert isinstance(place(request(runtime="runc"), [], random.Random(0)).refusal, InvalidInput)
    nothing_yet = place(request(dedicated_cpus=2, disk_quota=True), [], random.Random(0))
    assert nothing_yet.refusal is None
    assert nothing_yet.explain() == "No compute host has registered."


def test_refusals_follow_the_filters_in_use() -> None:
    unknown = request(requested_host="nowhere", runtime="kata")

    assert place(unknown, [host("a")], random.Random(0), filters=[]).refusal is None
    only_runtime = place(unknown, [host("a")], random.Random(0), filters=[RuntimeFilter()])
    assert only_runtime.refusal is not None and only_runtime.refusal.detail.startswith("runtime:")


def test_a_placement_is_a_plain_value() -> None:
    placement = place(request(), [host("a")], random.Random(0))

    assert placement == Placement(candidates=(host("a"),), verdicts={"a": None})


def test_a_host_that_cannot_limit_disk_says_so_before_saying_it_is_full() -> None:
    full_without_quota = host("a", disk_used=100, supports_disk_quota=False)
    full_with_quota = host("b", disk_used=100, supports_disk_quota=True)

    placement = place(
        request(disk_gib=1, disk_quota=True),
        [full_without_quota, full_with_quota],
        random.Random(0),
    )

    assert placement.rejected == {"a": Reason.DISK_QUOTA, "b": Reason.DISK}
    assert placement.refusal is None
