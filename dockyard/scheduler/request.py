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
    #: Whole host CPUs to pin (``cpu_policy: dedicated``); 0 for shared CPUs.
    dedicated_cpus: int = 0
    #: Whether ``disk_gib`` must be enforced by the host's storage driver.
    disk_quota: bool = False
    #: Whether the container mounts volumes (the host must be able to enforce their size).
    volumes: bool = False
