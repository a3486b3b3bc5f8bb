"""The shape every filter has."""

from __future__ import annotations

from typing import Protocol

from dockyard.domain.models import Host
from dockyard.scheduler.request import PlacementRequest


class Filter(Protocol):
    name: str

    def passes(self, host: Host, request: PlacementRequest) -> bool: ...
