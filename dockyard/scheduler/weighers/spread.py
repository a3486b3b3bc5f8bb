from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class SpreadWeigher:
    """Prefers the host with the largest share of its capacity still free."""

    name = "spread"

    def score(self, host: Host, request: PlacementRequest) -> float:
        free_cpu = 1 - host.cpu_used / host.cpus if host.cpus else 0.0
        free_ram = 1 - host.memory_used / host.memory_mib if host.memory_mib else 0.0
        return min(free_cpu, free_ram)
