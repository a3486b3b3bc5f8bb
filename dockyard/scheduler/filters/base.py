"""The shapes filters have."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from dockyard.domain.errors import DockyardError
from dockyard.domain.models import Host
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest


class Filter(Protocol):
    name: str

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        """Why ``host`` cannot take ``request`` now, or None when it can."""
        ...


@runtime_checkable
class LastingFilter(Protocol):
    """A filter whose verdict no claim, release or restart changes: a host it rejects
    will never take the request. When it rejects every registered host, the request
    is refused outright rather than recorded as a container no host had room for."""

    name: str

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None: ...

    def refusal(self, request: PlacementRequest, hosts: Sequence[Host]) -> DockyardError | None:
        """The client error for ``request`` given that it rejects all of ``hosts``
        (which may be none), or None to leave the request to placement."""
        ...
