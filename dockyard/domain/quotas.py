"""Quota resources, their units and limits, and the over-quota error text.

Limits are stored as given in the API (cpu in whole vCPUs); usage is counted in
integers: containers, milli-CPUs, memory MiB and disk GiB. ``-1`` is unlimited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from dockyard.domain.errors import OverQuota

#: Every resource, in the order rows are locked.
RESOURCES = ("containers", "cpu", "disk", "memory")
UNLIMITED = -1
#: The quota class whose limits apply to every project without its own.
DEFAULT_CLASS = "default"


@dataclass(frozen=True)
class QuotaLimits:
    """Limits per resource (``[quota]`` options); cpu in vCPUs, memory MiB, disk GiB."""

    containers: int = 40
    cpu: int = 20
    disk: int = 100
    memory: int = 51200

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def milli(cpu: float | None) -> int:
    return round((cpu or 0.0) * 1000)


def held(cpu: float | None, memory: int | None, disk: int | None) -> dict[str, int]:
    """What one container holds, in usage units."""
    return {"containers": 1, "cpu": milli(cpu), "disk": disk or 0, "memory": memory or 0}


def usage_limit(resource: str, limit: int) -> int:
    """A limit in the units usage is counted in (cpu: milli-CPUs)."""
    return limit * 1000 if resource == "cpu" and limit != UNLIMITED else limit


def shown(resource: str, in_use: int) -> int | float:
    """Usage as the API shows it (cpu in vCPUs)."""
    return round(in_use / 1000, 3) if resource == "cpu" else in_use


def over(
    limits: Mapping[str, int], in_use: Mapping[str, int], delta: Mapping[str, int]
) -> list[str]:
    """The resources that would pass their limit if ``delta`` were added (sorted)."""
    return sorted(
        r
        for r in RESOURCES
        if delta.get(r, 0) > 0
        and limits[r] != UNLIMITED
        and in_use.get(r, 0) + delta[r] > usage_limit(r, limits[r])
    )


def over_quota(
    resources: list[str],
    limits: Mapping[str, int],
    in_use: Mapping[str, int],
    delta: Mapping[str, int],
) -> OverQuota:
    parts = [
        f"{r}: {shown(r, delta.get(r, 0))} requested, limit {limits[r]}, "
        f"{shown(r, in_use.get(r, 0))} in use"
        for r in resources
    ]
    return OverQuota(
        f"Quota exceeded for resources: {', '.join(resources)} ({'; '.join(parts)}).",
        resources=list(resources),
    )
