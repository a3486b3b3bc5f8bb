"""Messages that cross between the control plane and agents.

Plain frozen dataclasses with a version; transports send them as JSON dicts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dockyard.domain.container_request import PullPolicy
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.image_records import ImageStatus, ImageUse, LocalImage, PullProgress
from dockyard.domain.models import ActionEvent, ContainerSpec
from dockyard.domain.networks import HostNetwork, Port
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.reports import ANY_TASK, ContainerChange, TaskGuard
from dockyard.domain.volumes import MountRequest

#: The protocol's version; its major changes when a message changes incompatibly
#: (2.0: reports carry a typed ``ContainerChange`` and events an ``ActionEvent``).
VERSION = "2.0"


@dataclass(frozen=True)
class CreateContainer:
    spec: ContainerSpec
    run: bool
    pull_policy: PullPolicy
    request_id: str
    #: Credentials for the image's registry (agents cannot read them from the database).
    auth: RegistryAuth | None = None
    #: The networks of ``ports``, for the agent to realise on its engine.
    networks: tuple[HostNetwork, ...] = ()
    #: The container's ports, in order: it is created on the first, plugged into the others.
    ports: tuple[Port, ...] = ()
    #: What the host must enforce once the ports exist, in force before the process starts.
    firewall: HostFirewall | None = None
    #: Files to inject before the container starts (``type: bind`` mounts); the volumes
    #: to realise and mount are in ``spec.volumes``.
    binds: tuple[MountRequest, ...] = ()
    #: The image driver that fetches ``spec.image`` ("docker", "glance").
    image_driver: str = "docker"
    version: str = VERSION


@dataclass(frozen=True)
class ContainerOperation:
    """An asynchronous operation on an existing container."""

    uuid: str
    #: start | stop | reboot | pause | unpause | kill | delete | network_attach |
    #: network_detach | add_security_group | remove_security_group
    operation: str
    request_id: str
    timeout: int | None = None
    signal: str | None = None
    force: bool = False
    stop_first: bool = False
    #: The network a network_attach plugs into (its port is in the record's addresses)
    #: or a network_detach unplugs from.
    network_id: str | None = None
    version: str = VERSION


@dataclass(frozen=True)
class ContainerReport:
    """An agent's account of a container, applied only while its guard holds.

    ``expect`` is the task state the record must still hold (None: no operation
    in flight; ``ANY_TASK``: no guard). A report whose guard fails is dropped:
    another operation owns the record. ``event``, recorded only when the report
    applies, saves a second round trip for the operation that ends with this report.
    """

    uuid: str
    change: ContainerChange
    expect: TaskGuard = ANY_TASK
    release_claim: bool = False
    event: EventReport | None = None
    version: str = VERSION


@dataclass(frozen=True)
class EventReport:
    """One finished step of an action (``event.result``: Success | Error)."""

    uuid: str
    request_id: str
    event: ActionEvent
    finish_action: bool = True
    version: str = VERSION


#: The key of a host report's ``inventory["info"]`` that holds the base URL of the
#: host's console proxy (absent when the host serves no console).
CONSOLE_URL = "console_url"


@dataclass(frozen=True)
class HostReport:
    host: str
    inventory: dict[str, Any] = field(default_factory=dict)
    version: str = VERSION


@dataclass(frozen=True)
class ResizeContainer:
    """New CPU and memory limits; the previous ones let the agent undo a refused change."""

    uuid: str
    cpu: float
    memory_mib: int
    previous_cpu: float
    previous_memory_mib: int
    request_id: str
    version: str = VERSION


@dataclass(frozen=True)
class RebuildContainer:
    """Recreate the container from ``spec`` (its image possibly new); start it iff ``run``."""

    spec: ContainerSpec
    run: bool
    pull_policy: PullPolicy
    request_id: str
    auth: RegistryAuth | None = None
    #: The container's ports: the new container takes them over, on networks realised here.
    ports: tuple[Port, ...] = ()
    #: The files its create injected, injected again into the new container.
    binds: tuple[MountRequest, ...] = ()
    #: The image driver that fetches ``spec.image`` ("docker", "glance").
    image_driver: str = "docker"
    version: str = VERSION


@dataclass(frozen=True)
class CommitContainer:
    uuid: str
    repository: str
    tag: str
    request_id: str
    #: Where the committed image goes: "glance" uploads it there, "docker" keeps it local.
    image_driver: str = "docker"
    version: str = VERSION


@dataclass(frozen=True)
class PullImage:
    """Pull ``repo:tag`` onto the host for the image record ``uuid``."""

    uuid: str
    repo: str
    tag: str
    auth: RegistryAuth | None = None
    version: str = VERSION


@dataclass(frozen=True)
class ImageReport:
    """How an image record's pull stands: progress while it runs, then the outcome.

    ``status`` ``ready`` comes with ``image_id`` and ``size``; ``error`` with a ``reason``.
    """

    uuid: str
    status: ImageStatus
    progress: PullProgress | None = None
    image_id: str | None = None
    size: int | None = None
    reason: str | None = None
    version: str = VERSION


@dataclass(frozen=True)
class HostImages:
    """Every tagged image a host's engine holds, and the agent's pulls and uses since
    its last report."""

    host: str
    images: tuple[LocalImage, ...]
    uses: tuple[ImageUse, ...] = ()
    #: When the agent listed the engine: a list applied late (a call retried after a
    #: timeout, its first delivery still queued) must not remove a record that a pull
    #: made READY after the list was taken.
    listed_at: dt.datetime | None = None
    version: str = VERSION
