from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest


class ComputeFilter:
    """The host's agent is enabled and has reported recently."""

    name = "compute"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        if not host.enabled:
            return Reason.DISABLED
        return None if host.up else Reason.DOWN
