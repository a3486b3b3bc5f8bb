"""A host's inventory as the scheduler counts it."""

from __future__ import annotations

from typing import Any

from dockyard.config.compute import ComputeConfig
from dockyard.domain.models import HostInfo


def inventory(info: HostInfo, cfg: ComputeConfig) -> dict[str, Any]:
    """Capacity after over-commit ratios and the host's own reserved memory; disk as
    configured (``disk_total_gib``), else as the engine's data root measures it."""
    usable_memory = max(info.memory_mib - cfg.reserved_host_memory_mb, 0)
    return {
        "cpus": info.cpus,
        "memory_mib": info.memory_mib,
        "disk_gib": cfg.disk_total_gib or info.disk_gib,
        "cpu_capacity_milli": round(info.cpus * cfg.cpu_allocation_ratio * 1000),
        "memory_capacity": int(usable_memory * cfg.ram_allocation_ratio),
        "runtimes": list(info.runtimes),
        "availability_zone": cfg.availability_zone,
        "info": {
            "os": info.os,
            "kernel": info.kernel,
            "engine_version": info.engine_version,
            "default_runtime": info.default_runtime,
            "storage_driver": info.storage_driver,
            "supports_disk_quota": info.supports_disk_quota,
            "labels": dict(info.labels),
        },
    }
