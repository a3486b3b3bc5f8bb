from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class AvailabilityZoneFilter:
    name = "availability_zone"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        zone = request.availability_zone
        return zone is None or host.availability_zone == zone
