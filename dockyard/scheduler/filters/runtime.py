from __future__ import annotations

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class RuntimeFilter:
    """The host's engine offers the requested OCI runtime."""

    name = "runtime"

    def passes(self, host: Host, request: PlacementRequest) -> bool:
        return request.runtime is None or request.runtime in host.runtimes
