"""What a placement asks for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlacementRequest:
    cpu: float
    memory_mib: int
    disk_gib: int = 0
    runtime: str | None = None
    availability_zone: str | None = None
    requested_host: str | None = None
