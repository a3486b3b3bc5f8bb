from __future__ import annotations

from collections.abc import Sequence

from dockyard.domain.errors import DockyardError, RequestedHostNotFound
from dockyard.domain.models import Host
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest


class RequestedHostFilter:
    name = "requested_host"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        wanted = request.requested_host
        return None if wanted is None or host.name == wanted else Reason.REQUESTED_HOST

    def refusal(self, request: PlacementRequest, hosts: Sequence[Host]) -> DockyardError | None:
        if request.requested_host is None:
            return None
        return RequestedHostNotFound(f"host: no compute host is named {request.requested_host}.")
