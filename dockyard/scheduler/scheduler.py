"""Host selection as a pure function of a request and a snapshot of hosts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

from dockyard.domain.models import Host
from dockyard.scheduler.filters.availability_zone import AvailabilityZoneFilter
from dockyard.scheduler.filters.base import Filter
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
from dockyard.scheduler.weighers.spread import SpreadWeigher


class Weigher(Protocol):
    name: str

    def score(self, host: Host, request: PlacementRequest) -> float: ...


DEFAULT_FILTERS: tuple[Filter, ...] = (
    ComputeFilter(),
    RequestedHostFilter(),
    AvailabilityZoneFilter(),
    RuntimeFilter(),
    CpuFilter(),
    RamFilter(),
    DedicatedCpuFilter(),
    DiskQuotaFilter(),
)
DEFAULT_WEIGHERS: tuple[Weigher, ...] = (SpreadWeigher(),)


def select(
    request: PlacementRequest,
    hosts: Sequence[Host],
    rng: random.Random,
    filters: Sequence[Filter] = DEFAULT_FILTERS,
    weighers: Sequence[Weigher] = DEFAULT_WEIGHERS,
) -> list[Host]:
    """Hosts that can take ``request``, best first; ties are broken by ``rng``."""
    fit = [h for h in hosts if all(f.passes(h, request) for f in filters)]
    keyed = [(sum(w.score(h, request) for w in weighers), rng.random(), h) for h in fit]
    keyed.sort(key=lambda item: (-item[0], item[1]))
    return [h for _, _, h in keyed]


def explain(request: PlacementRequest, hosts: Sequence[Host]) -> str:
    """Why no host fits: the first filter each host failed, for status_reason."""
    if not hosts:
        return "No compute host has registered."
    reasons = []
    for host in hosts:
        failed = next((f.name for f in DEFAULT_FILTERS if not f.passes(host, request)), None)
        if failed == ComputeFilter.name:
            failed = "disabled" if not host.enabled else "down"
        reasons.append(f"{host.name}: {failed or 'ok'}")
    return "There are not enough hosts available (" + "; ".join(reasons) + ")."
