from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest


class AvailabilityZoneFilter:
    name = "availability_zone"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        zone = request.availability_zone
        return None if zone is None or host.availability_zone == zone else Reason.AVAILABILITY_ZONE
