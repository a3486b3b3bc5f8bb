"""Why a host cannot take a request: one value per filter, as ``status_reason`` spells it."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    DISABLED = "disabled"
    DOWN = "down"
    REQUESTED_HOST = "requested_host"
    AVAILABILITY_ZONE = "availability_zone"
    RUNTIME = "runtime"
    CPU = "cpu"
    RAM = "ram"
    DISK = "disk"
    DEDICATED_CPU = "dedicated_cpu"
    DISK_QUOTA = "disk_quota"
    VOLUMES = "volumes"
