"""Choosing host CPUs for dedicated containers."""

from __future__ import annotations

import pytest

from dockyard.domain.cpusets import parse_cpuset, pick_cpus, whole_cpus


@pytest.mark.parametrize(
    ("cpu", "count"), [(0.1, 1), (1.0, 1), (1.5, 2), (2.0, 2), (2.0000000001, 2), (3.2, 4)]
)
def test_whole_cpus_rounds_up(cpu: float, count: int) -> None:
    assert whole_cpus(cpu) == count


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("0", [0]), ("0,1", [0, 1]), ("0-3", [0, 1, 2, 3]), ("1-2,5", [1, 2, 5]), ("", [])],
)
def test_parse_cpuset(text: str, cpus: list[int]) -> None:
    assert parse_cpuset(text) == cpus


@pytest.mark.parametrize(
    ("count", "host_cpus", "pinned", "chosen"),
    [
        (1, 2, [], "0"),
        (1, 2, ["0"], "1"),
        (1, 2, ["0", "1"], "0"),
        (2, 4, ["0-1"], "2,3"),
        (2, 4, ["0", "2"], "1,3"),
        (3, 4, ["1", "1", "0"], "0,2,3"),
        (2, 2, ["0", "0", "1"], "0,1"),
    ],
)
def test_pick_cpus_prefers_the_least_used(
    count: int, host_cpus: int, pinned: list[str], chosen: str
) -> None:
    assert pick_cpus(count, host_cpus, pinned) == chosen


@pytest.mark.parametrize(("count", "host_cpus"), [(3, 2), (0, 2), (1, 0)])
def test_pick_cpus_refuses_impossible_requests(count: int, host_cpus: int) -> None:
    with pytest.raises(ValueError, match="cannot pin"):
        pick_cpus(count, host_cpus, [])
