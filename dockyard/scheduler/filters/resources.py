"""Capacity filters. Capacities already include the host's allocation ratios."""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.domain.errors import DockyardError, InvalidInput, VolumeUnsupported
from dockyard.domain.models import Host
from dockyard.domain.volumes import VOLUMES_UNSUPPORTED
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest


class CpuFilter:
    name = "cpu"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        fits = host.cpu_used + request.cpu <= host.cpus + 1e-9
        return None if fits else Reason.CPU


class RamFilter:
    name = "ram"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        fits = host.memory_used + request.memory_mib <= host.memory_mib
        return None if fits else Reason.RAM


class DiskFilter:
    """Room for the request's disk; a request without disk takes none, so always fits.

    Counted whether or not the host's storage driver can enforce the size.
    """

    name = "disk"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        fits = not request.disk_gib or host.disk_used + request.disk_gib <= host.disk_gib
        return None if fits else Reason.DISK


class DedicatedCpuFilter:
    name = "dedicated_cpu"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        return None if request.dedicated_cpus <= host.cpu_count else Reason.DEDICATED_CPU

    def refusal(self, request: PlacementRequest, hosts: Sequence[Host]) -> DockyardError | None:
        if not hosts:
            return None
        most = max(h.cpu_count for h in hosts)
        return InvalidInput(
            f"cpu_policy: dedicated needs {request.dedicated_cpus} whole CPUs but no host "
            f"has more than {most}.",
            field="cpu_policy",
        )


class DiskQuotaFilter:
    name = "disk_quota"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        limited = not request.disk_quota or host.supports_disk_quota
        return None if limited else Reason.DISK_QUOTA

    def refusal(self, request: PlacementRequest, hosts: Sequence[Host]) -> DockyardError | None:
        if not hosts:
            return None
        drivers = ", ".join(sorted({h.storage_driver or "unknown" for h in hosts}))
        return InvalidInput(
            f"disk: the storage driver ({drivers}) of the hosts cannot limit container disk size.",
            field="disk",
        )


class VolumeSupportFilter:
    """A container with volumes only goes where volume sizes can be enforced."""

    name = "volumes"

    def reject(self, host: Host, request: PlacementRequest) -> Reason | None:
        refused = request.volumes and bool(host.info.get(VOLUMES_UNSUPPORTED))
        return Reason.VOLUMES if refused else None

    def refusal(self, request: PlacementRequest, hosts: Sequence[Host]) -> DockyardError | None:
        if not hosts:
            return None
        reasons = "; ".join(
            f"{h.name}: {h.info.get(VOLUMES_UNSUPPORTED)}"
            for h in hosts
            if h.info.get(VOLUMES_UNSUPPORTED)
        )
        return VolumeUnsupported(
            f"mounts: no host can enforce volume sizes ({reasons}).", field="mounts"
        )
