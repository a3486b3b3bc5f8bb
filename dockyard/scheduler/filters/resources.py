"""Capacity filters. Capacities already include the host's allocation ratios."""

from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class CpuFilter:
    name = "cpu"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return host.cpu_used + request.cpu <= host.cpus + 1e-9


class DedicatedCpuFilter:
    name = "dedicated_cpu"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return request.dedicated_cpus <= host.cpu_count


class DiskQuotaFilter:
    name = "disk_quota"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return not request.disk_quota or host.supports_disk_quota


class RamFilter:
    name = "ram"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return host.memory_used + request.memory_mib <= host.memory_mib
