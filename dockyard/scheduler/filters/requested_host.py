from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class RequestedHostFilter:
    name = "requested_host"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return request.requested_host is None or host.name == request.requested_host
