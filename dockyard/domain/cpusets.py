"""Choosing host CPUs for containers with ``cpu_policy: dedicated``."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable


def whole_cpus(cpu: float) -> int:
    """How many CPUs a dedicated container is pinned to: its ``cpu`` rounded up."""
    return max(1, math.ceil(cpu - 1e-9))


def parse_cpuset(text: str) -> list[int]:
    """``"0-2,5"`` -> ``[0, 1, 2, 5]`` (the kernel's cpuset list format)."""
    cpus: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def pick_cpus(count: int, host_cpus: int, pinned: Iterable[str]) -> str:
    """The ``count`` CPUs of the host that the fewest pinned containers use, lowest first.

    ``pinned`` holds the cpusets of the containers already pinned on the host.
    Pinning is for locality, not exclusivity: when every CPU is taken the
    least-shared ones are chosen again.
    """
    if not 0 < count <= host_cpus:
        raise ValueError(f"cannot pin {count} of {host_cpus} CPUs")
    use = Counter(cpu for cpuset in pinned for cpu in parse_cpuset(cpuset))
    chosen = sorted(range(host_cpus), key=lambda cpu: (use[cpu], cpu))[:count]
    return ",".join(str(cpu) for cpu in sorted(chosen))
