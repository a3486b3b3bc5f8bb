from __future__ import annotations

from collections.abc import Sequence

from dockyard.domain.errors import DockyardError, InvalidInput
from dockyard.domain.models import Host
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest


class RuntimeFilter:
    """The host's engine offers the requested OCI runtime."""

    name = "runtime"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        wanted = request.runtime
        return None if wanted is None or wanted in host.runtimes else Reason.RUNTIME

    def refusal(self, request: PlacementRequest, hosts: Sequence[Host]) -> DockyardError | None:
        if request.runtime is None:
            return None
        known = ", ".join(sorted({rt for h in hosts for rt in h.runtimes}))
        return InvalidInput(
            f"runtime: {request.runtime} is not offered by any host (known: {known}).",
            field="runtime",
        )
