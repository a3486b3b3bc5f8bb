from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class ComputeFilter:
    """The host's agent is enabled and has reported recently."""

    name = "compute"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return host.enabled and host.up
