"""Placement as a pure function of a request and a snapshot of hosts."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from dockyard.domain.errors import DockyardError
from dockyard.domain.models import Host
from dockyard.scheduler.filters.availability_zone import AvailabilityZoneFilter
from dockyard.scheduler.filters.base import Filter, LastingFilter
from dockyard.scheduler.filters.compute import ComputeFilter
from dockyard.scheduler.filters.requested_host import RequestedHostFilter
from dockyard.scheduler.filters.resources import (
    CpuFilter,
    DedicatedCpuFilter,
    DiskFilter,
    DiskQuotaFilter,
    RamFilter,
    VolumeSupportFilter,
)
from dockyard.scheduler.filters.runtime import RuntimeFilter
from dockyard.scheduler.reasons import Reason
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
    VolumeSupportFilter(),
    DiskFilter(),
)
DEFAULT_WEIGHERS: tuple[Weigher, ...] = (SpreadWeigher(),)


@dataclass(frozen=True)
class Placement:
    """Where a request can go on one snapshot of hosts, and why not elsewhere."""

    #: Hosts that can take the request now, best first.
    candidates: tuple[Host, ...]
    #: Every host of the snapshot, in its order: the first filter it failed, None if none.
    verdicts: Mapping[str, Reason | None]
    #: Set when no registered host could ever take the request: the client error to raise.
    refusal: DockyardError | None = None

    @property
    def rejected(self) -> dict[str, Reason]:
        return {name: reason for name, reason in self.verdicts.items() if reason is not None}

    def explain(self) -> str:
        """Why no host took the request, for ``status_reason``."""
        if not self.verdicts:
            return "No compute host has registered."
        reasons = "; ".join(f"{name}: {reason or 'ok'}" for name, reason in self.verdicts.items())
        return f"There are not enough hosts available ({reasons})."


def place(
    request: PlacementRequest,
    hosts: Sequence[Host],
    rng: random.Random,
    filters: Sequence[Filter] = DEFAULT_FILTERS,
    weighers: Sequence[Weigher] = DEFAULT_WEIGHERS,
) -> Placement:
    """Candidates for ``request`` among ``hosts``, best first (ties broken by ``rng``),
    each other host's reason, and whether the request is impossible on every host."""
    verdicts = {h.name: _first_reason(h, request, filters) for h in hosts}
    fit = [h for h in hosts if verdicts[h.name] is None]
    keyed = [(sum(w.score(h, request) for w in weighers), rng.random(), h) for h in fit]
    keyed.sort(key=lambda item: (-item[0], item[1]))
    return Placement(
        candidates=tuple(h for _, _, h in keyed),
        verdicts=verdicts,
        refusal=_refusal(request, hosts, filters),
    )


def _first_reason(
    host: Host, request: PlacementRequest, filters: Sequence[Filter]
) -> Reason | None:
    return next((r for f in filters if (r := f.reject(host, request)) is not None), None)


def _refusal(
    request: PlacementRequest, hosts: Sequence[Host], filters: Sequence[Filter]
) -> DockyardError | None:
    """The first lasting filter's error among those that reject every host."""
    for lasting in filters:
        if not isinstance(lasting, LastingFilter):
            continue
        if all(lasting.reject(h, request) is not None for h in hosts):
            refusal = lasting.refusal(request, hosts)
            if refusal is not None:
                return refusal
    return None
