"""The Docker backend's pure translations for stats, top, archives and live limits."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.domain.models import PathStat, ProcessTable, StatsSnapshot
from dockyard.drivers.runtime.docker import translate

MIB = 2**20


def sample(
    *,
    total: int,
    system: int,
    pre_total: int,
    pre_system: int,
    online: int | None = 2,
    percpu: int = 0,
    memory: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A non-streamed ``stats`` answer: two readings of cumulative nanosecond counters."""
    cpu: dict[str, Any] = {
        "cpu_usage": {"total_usage": total, "percpu_usage": [0] * percpu},
        "system_cpu_usage": system,
    }
    if online is not None:
        cpu["online_cpus"] = online
    return {
        "cpu_stats": cpu,
        "precpu_stats": {
            "cpu_usage": {"total_usage": pre_total},
            "system_cpu_usage": pre_system,
        },
        "memory_stats": memory or {},
        **extra,
    }


# --- CPU % ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Half a CPU on a 2-CPU host: 0.5 s of 2 s of host time, times 2 CPUs.
        ({"total": 1_500_000_000, "pre_total": 1_000_000_000}, 50.0),
        # Both CPUs fully busy.
        ({"total": 3_000_000_000, "pre_total": 1_000_000_000}, 200.0),
        # Idle: the counter did not move.
        ({"total": 1_000_000_000, "pre_total": 1_000_000_000}, 0.0),
    ],
    ids=["half", "two-cpus", "idle"],
)
def test_cpu_percent_uses_the_deltas(fields: dict[str, int], expected: float) -> None:
    stats = sample(system=12_000_000_000, pre_system=10_000_000_000, **fields)

    assert translate.cpu_percent(stats) == pytest.approx(expected)


def test_cpu_percent_ignores_the_cumulative_totals() -> None:
    # Hours of CPU time so far, but only 0.1 s used in the last 2 s of host time.
    stats = sample(
        total=36_000_100_000_000,
        pre_total=36_000_000_000_000,
        system=900_002_000_000_000,
        pre_system=900_000_000_000_000,
        online=1,
    )

    assert translate.cpu_percent(stats) == pytest.approx(5.0)


def test_cpu_percent_counts_percpu_entries_without_online_cpus() -> None:
    stats = sample(
        total=1_500_000_000,
        pre_total=1_000_000_000,
        system=14_000_000_000,
        pre_system=10_000_000_000,
        online=None,
        percpu=4,
    )

    assert translate.cpu_percent(stats) == pytest.approx(50.0)


@pytest.mark.parametrize(
    "stats",
    [
        # One-shot sample: no previous reading.
        {"cpu_stats": {"cpu_usage": {"total_usage": 5}, "system_cpu_usage": 9}},
        # A counter went backwards (container restarted between readings).
        sample(total=1, pre_total=50, system=20, pre_system=10),
        # No host time elapsed.
        sample(total=50, pre_total=1, system=10, pre_system=10),
        {},
    ],
    ids=["one-shot", "counter-reset", "no-system-delta", "empty"],
)
def test_cpu_percent_is_zero_without_two_usable_readings(stats: dict[str, Any]) -> None:
    assert translate.cpu_percent(stats) == 0.0


# --- memory -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("memory_stats", "expected"),
    [
        # cgroup v1: the page cache is reported as "cache".
        ({"usage": 30 * MIB, "stats": {"cache": 10 * MIB, "inactive_file": 4 * MIB}}, 20 * MIB),
        # cgroup v2: no "cache"; reclaimable file pages are "inactive_file".
        ({"usage": 30 * MIB, "stats": {"inactive_file": 4 * MIB, "file": 9 * MIB}}, 26 * MIB),
        ({"usage": 30 * MIB}, 30 * MIB),
        ({"usage": 1 * MIB, "stats": {"cache": 2 * MIB}}, 0),
        ({}, 0),
    ],
    ids=["v1", "v2", "no-detail", "never-negative", "empty"],
)
def test_memory_usage_leaves_the_cache_out(memory_stats: dict[str, Any], expected: int) -> None:
    assert translate.memory_usage(memory_stats) == expected


# --- the whole snapshot -----------------------------------------------------------------


def test_stats_snapshot() -> None:
    stats = sample(
        total=1_250_000_000,
        pre_total=1_000_000_000,
        system=12_000_000_000,
        pre_system=10_000_000_000,
        memory={"usage": 24 * MIB, "limit": 64 * MIB, "stats": {"cache": 8 * MIB}},
        blkio_stats={
            "io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "Read", "value": 4096},
                {"major": 8, "minor": 0, "op": "Write", "value": 512},
                {"major": 8, "minor": 0, "op": "Total", "value": 4608},
                {"major": 8, "minor": 16, "op": "read", "value": 100},
            ]
        },
        networks={
            "eth0": {"rx_bytes": 1000, "tx_bytes": 200},
            "eth1": {"rx_bytes": 5, "tx_bytes": 7},
        },
    )

    assert translate.stats_snapshot(stats) == StatsSnapshot(
        cpu_percent=25.0,
        memory_usage_mib=16.0,
        memory_limit_mib=64.0,
        memory_percent=25.0,
        block_read=4196,
        block_write=512,
        net_rx=1005,
        net_tx=207,
    )


def test_stats_snapshot_of_a_stopped_container_is_all_zero() -> None:
    # What the engine sends for a container that does not run: empty sections.
    stats = {
        "cpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
        "memory_stats": {},
        "blkio_stats": {"io_service_bytes_recursive": None},
    }

    snapshot = translate.stats_snapshot(stats)

    assert snapshot == StatsSnapshot(0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0)


# --- top, archive stat, limits ----------------------------------------------------------


def test_process_table() -> None:
    top = {
        "Titles": ["UID", "PID", "CMD"],
        "Processes": [["root", "4242", "sleep 300"], ["root", 4243, "sh"]],
    }

    assert translate.process_table(top) == ProcessTable(
        ("UID", "PID", "CMD"), (("root", "4242", "sleep 300"), ("root", "4243", "sh"))
    )
    assert translate.process_table({"Titles": None, "Processes": None}) == ProcessTable((), ())


def test_path_stat() -> None:
    header = {
        "name": "sh",
        "size": 1075464,
        "mode": 493,
        "mtime": "2018-10-01T15:37:48-07:00",
        "linkTarget": "/bin/busybox",
    }

    assert translate.path_stat(header) == PathStat(
        "sh", 1075464, 0o755, "2018-10-01T15:37:48-07:00", "/bin/busybox"
    )
    assert translate.path_stat({"name": "x"}).link_target == ""


def test_update_body_keeps_nano_cpus_and_no_extra_swap() -> None:
    assert translate.update_body(0.5, 64) == {
        "NanoCpus": 500_000_000,
        "Memory": 64 * MIB,
        "MemorySwap": 64 * MIB,
    }
