"""Host, service and availability-zone bodies (api-other §9.1, §10.1, §11)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dockyard.domain.models import Host
from dockyard.service.hosts import COMPUTE_BINARY


def _stamp(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def service(host: Host, default_zone: str) -> dict[str, Any]:
    return {
        "id": host.id,
        "host": host.name,
        "binary": COMPUTE_BINARY,
        "state": "up" if host.up else "down",
        "disabled": not host.enabled,
        "disabled_reason": host.disabled_reason,
        "forced_down": host.forced_down,
        "last_seen_up": _stamp(host.last_seen),
        "report_count": host.report_count,
        "availability_zone": host.availability_zone or default_zone,
        "created_at": _stamp(host.created_at),
        "updated_at": _stamp(host.updated_at),
    }


def _links(base_url: str, uuid: str) -> list[dict[str, str]]:
    return [
        {"href": f"{base_url}/v1/hosts/{uuid}", "rel": "self"},
        {"href": f"{base_url}/hosts/{uuid}", "rel": "bookmark"},
    ]


def host(host: Host, base_url: str) -> dict[str, Any]:
    info = host.info
    labels = info.get("labels")
    return {
        "uuid": host.uuid,
        "links": _links(base_url, host.uuid),
        "hostname": host.name,
        # Physical totals; the scheduler's capacity applies the allocation ratios.
        "mem_total": host.memory_total_mib,
        "mem_used": host.memory_used,
        "cpus": host.cpu_count,
        "cpu_used": host.cpu_used,
        "disk_total": host.disk_gib,
        "disk_used": host.disk_used,
        "disk_quota_supported": host.supports_disk_quota,
        "total_containers": host.containers,
        "architecture": info.get("architecture") or None,
        "os_type": info.get("os_type") or "linux",
        "os": info.get("os") or None,
        "kernel_version": info.get("kernel") or None,
        "labels": dict(labels) if isinstance(labels, dict) else None,
        "runtimes": list(host.runtimes),
        # Dedicated CPUs (cpu_policy=dedicated) are pinned on every host.
        "enable_cpu_pinning": True,
    }
