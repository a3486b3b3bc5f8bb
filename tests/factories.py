"""Builders for the domain values tests need, with defaults for every field a test does
not care about; a test names only what it is about (``container(status=Status.STOPPED)``).
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from dockyard.domain.container_request import ContainerRequest
from dockyard.domain.images import parse_image
from dockyard.domain.models import Container, ContainerSpec, Host, RequestContext
from dockyard.scheduler.request import PlacementRequest

IMAGE = "dockyard-test/busybox"

#: A plain user's request: user u-1 of project p-1.
CTX = RequestContext(request_id="req-1", user_id="u-1", project_id="p-1")


def container(**fields: Any) -> Container:
    """A container record of ``CTX``'s project with a fresh UUID, 0.5 CPU and 64 MiB."""
    base: dict[str, Any] = {
        "uuid": str(uuidlib.uuid4()),
        "name": "c",
        "project_id": CTX.project_id,
        "user_id": CTX.user_id,
        "image": IMAGE,
        "cpu": 0.5,
        "memory": 64,
    }
    return Container(**{**base, **fields})


def spec(**fields: Any) -> ContainerSpec:
    """What a runtime is asked to create: a fresh UUID, the test image, on node-1."""
    base: dict[str, Any] = {
        "uuid": str(uuidlib.uuid4()),
        "name": "web",
        "image": f"{IMAGE}:latest",
        "host": "node-1",
    }
    return ContainerSpec(**{**base, **fields})


def asked(image: str = "busybox", **fields: Any) -> ContainerRequest:
    """A create request for ``image``, parsed as the API parses it."""
    return ContainerRequest(image=image, image_ref=parse_image(image), **fields)


def host(name: str = "h1", **fields: Any) -> Host:
    """A registered, enabled, up host with 8 CPUs, 8 GiB and 100 GiB, running runc."""
    base: dict[str, Any] = {
        "name": name,
        "cpus": 8.0,
        "memory_mib": 8192,
        "disk_gib": 100,
        "runtimes": ("runc",),
    }
    return Host(**{**base, **fields})


def placement(**fields: Any) -> PlacementRequest:
    """What the scheduler is asked to place: 1 CPU and 512 MiB unless told."""
    return PlacementRequest(**{"cpu": 1.0, "memory_mib": 512, **fields})


def host_inventory(cpu: float = 2.0, memory: int = 1024, **fields: Any) -> dict[str, Any]:
    """What the agent of a 2-CPU host reports, offering ``cpu`` CPUs and ``memory`` MiB."""
    return {
        "cpus": 2,
        "memory_mib": memory,
        "disk_gib": 10,
        "cpu_capacity_milli": round(cpu * 1000),
        "memory_capacity": memory,
        "runtimes": ["runc"],
        "info": {},
        **fields,
    }
