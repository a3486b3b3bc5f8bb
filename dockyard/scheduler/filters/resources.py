"""Capacity filters. Capacities already include the host's allocation ratios."""

from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class CpuFilter:
    name = "cpu"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return host.cpu_used + request.cpu <= host.cpus + 1e-9


class RamFilter:
    name = "ram"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return host.memory_used + request.memory_mib <= host.memory_mib
