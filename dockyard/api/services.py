"""The use cases the API's handlers call, handed to every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.api.policy import Authorizer
from dockyard.api.schemas.containers import Limits
from dockyard.domain.changes import ChangeFeed
from dockyard.domain.clock import Clock
from dockyard.drivers.volume.base import VolumeDriver
from dockyard.service.consoles import ConsoleService
from dockyard.service.container_groups import ContainerGroups
from dockyard.service.container_networks import ContainerNetworks
from dockyard.service.containers import ContainerService
from dockyard.service.creation import ContainerCreator
from dockyard.service.hosts import HostService
from dockyard.service.idempotency import IdempotentCreates
from dockyard.service.images import ImageService
from dockyard.service.networks import NetworkService
from dockyard.service.quotas import QuotaService
from dockyard.service.registries import RegistryService


def _no_endpoint(_base: str) -> str | None:
    return None


@dataclass(frozen=True)
class Services:
    containers: ContainerService
    creator: ContainerCreator
    idempotent: IdempotentCreates
    limits: Limits
    authorizer: Authorizer
    quotas: QuotaService
    hosts: HostService
    registries: RegistryService
    images: ImageService
    consoles: ConsoleService
    clock: Clock
    #: Wakes requests waiting for a container to change (``Prefer: wait``).
    changes: ChangeFeed
    max_wait: int
    networks: NetworkService
    container_groups: ContainerGroups
    container_networks: ContainerNetworks
    #: The control side of the volume backend (``[volume] driver``).
    volumes: VolumeDriver
    #: Whether ``/v2.0`` (Dockyard's Neutron subset) is served: not under the neutron driver.
    serve_network_api: bool = True
    #: The network endpoint the built-in identity's catalog lists when ``/v2.0`` is not
    #: served (the cloud's Neutron root, found once; None while it cannot be found).
    network_endpoint: Callable[[str], str | None] = _no_endpoint
