"""Plain data shared by every layer. No I/O here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.domain.container_request import STEERING_FIELDS, ContainerRequest
from dockyard.domain.container_request import CpuPolicy as CpuPolicy
from dockyard.domain.container_request import ExposedPort as ExposedPort
from dockyard.domain.container_request import Healthcheck as Healthcheck
from dockyard.domain.container_request import PullPolicy as PullPolicy
from dockyard.domain.container_request import RestartPolicy as RestartPolicy
from dockyard.domain.labels import LABEL_CONTAINER_ID as LABEL_CONTAINER_ID
from dockyard.domain.labels import LABEL_HOST as LABEL_HOST
from dockyard.domain.networks import Endpoint
from dockyard.domain.states import Status, TaskState
from dockyard.domain.status_detail import health_of
from dockyard.domain.volumes import HostMount


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a runtime needs to create one container."""

    uuid: str
    name: str
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    cpu: float = 1.0
    memory_mib: int = 512
    environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    hostname: str | None = None
    interactive: bool = False
    tty: bool = False
    auto_remove: bool = False
    privileged: bool = False
    runtime: str | None = None
    restart_policy: RestartPolicy | None = None
    healthcheck: Healthcheck | None = None
    host: str = ""
    #: Container ports to publish on the host.
    exposed_ports: tuple[ExposedPort, ...] = ()
    #: Host CPUs the container is pinned to (``"0,1"``); None: any CPU.
    cpuset_cpus: str | None = None
    #: A limit on the container's writable layer, in GiB; None: unlimited.
    disk_gib: int | None = None
    #: The network it is created on; None: the engine's default bridge.
    network: Endpoint | None = None
    #: Volumes mounted into it (realised on the host before it is created).
    volumes: tuple[HostMount, ...] = ()


@dataclass(frozen=True)
class ObservedContainer:
    """What the runtime reports about one container it manages."""

    uuid: str
    runtime_id: str
    status: Status
    status_detail: str
    exit_code: int | None = None
    error: str = ""
    oom_killed: bool = False
    restart_count: int = 0
    hostname: str | None = None
    ports: tuple[int, ...] = ()
    command: tuple[str, ...] | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    health: str | None = None  # starting | healthy | unhealthy; None without a healthcheck
    #: The installation label; None on containers made before installations were labelled.
    installation: str | None = None


@dataclass(frozen=True)
class LogOptions:
    stdout: bool = True
    stderr: bool = True
    timestamps: bool = False
    tail: int | None = None  # None: all lines
    since: dt.datetime | int | None = None


@dataclass(frozen=True)
class ExecResult:
    output: str
    exit_code: int | None


@dataclass(frozen=True)
class HostInfo:
    """A compute host's inventory as its runtime reports it."""

    hostname: str
    cpus: int
    memory_mib: int
    disk_gib: int
    runtimes: tuple[str, ...]
    default_runtime: str
    os: str = ""
    kernel: str = ""
    engine_version: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    storage_driver: str = ""
    supports_disk_quota: bool = False


@dataclass(frozen=True)
class RequestContext:
    """Who is asking, and the id under which the request is logged."""

    request_id: str
    user_id: str
    project_id: str
    roles: tuple[str, ...] = ()
    is_admin: bool = False
    user_name: str = ""
    project_name: str = ""
    all_projects: bool = False
    #: Whether the policy ``network:attach_external_network`` lets this caller plug a
    #: container into an unshared external network (decided by the API where it matters).
    may_attach_external: bool = False


@dataclass
class Container:
    """One container record, as stored and as rendered by the API."""

    uuid: str
    name: str
    project_id: str
    user_id: str
    image: str
    status: Status = Status.CREATING
    task_state: TaskState | None = None
    status_reason: str | None = None
    status_detail: str | None = None
    image_driver: str | None = "docker"
    image_pull_policy: PullPolicy | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    cpu: float | None = None
    cpu_policy: CpuPolicy = CpuPolicy.SHARED
    cpuset_cpus: str | None = None  # chosen for cpu_policy "dedicated"; not rendered
    memory: int | None = None  # MiB; rendered as a string
    disk: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    hostname: str | None = None
    ports: list[int] = field(default_factory=list)
    exposed_ports: tuple[ExposedPort, ...] = ()  # as requested; rendered via ``ports``
    addresses: dict[str, list[dict[str, object]]] | None = None
    security_groups: list[str] = field(default_factory=list)
    restart_policy: RestartPolicy | None = None
    interactive: bool = False
    tty: bool = False
    auto_remove: bool = False
    auto_heal: bool = False
    privileged: bool = False
    runtime: str | None = None
    healthcheck: Healthcheck | None = None
    registry_id: str | None = None
    host: str | None = None
    runtime_id: str | None = None
    exit_code: int | None = None
    restart_count: int = 0
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    claimed: bool = False
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    id: int | None = None

    @property
    def health(self) -> str | None:
        """The healthcheck state, kept as part of the stored engine summary."""
        return health_of(self.status_detail)

    @classmethod
    def requested(cls, request: ContainerRequest, **record: Any) -> Container:
        """A new record of ``request``; ``record`` gives the rest (uuid, name, owner, ...)
        and overrides what the create decided (defaults applied to cpu and memory)."""
        asked = {name: getattr(request, name) for name in _REQUESTED}
        return cls(**{**asked, **record})

    def spec(self) -> ContainerSpec:
        return ContainerSpec(
            uuid=self.uuid,
            name=self.name,
            image=self.image,
            command=self.command,
            entrypoint=self.entrypoint,
            cpu=self.cpu if self.cpu is not None else 1.0,
            memory_mib=self.memory if self.memory is not None else 512,
            environment=dict(self.environment),
            labels=dict(self.labels),
            workdir=self.workdir,
            hostname=self.hostname,
            interactive=self.interactive,
            tty=self.tty,
            auto_remove=self.auto_remove,
            privileged=self.privileged,
            runtime=self.runtime,
            restart_policy=self.restart_policy,
            healthcheck=self.healthcheck,
            host=self.host or "",
            exposed_ports=self.exposed_ports,
            cpuset_cpus=self.cpuset_cpus,
            disk_gib=self.disk,
        )


#: The request's fields a record keeps as asked (same name, same type).
_REQUESTED = tuple(
    f.name for f in dataclasses.fields(ContainerRequest) if f.name not in STEERING_FIELDS
)


@dataclass(frozen=True)
class Host:
    """A compute host's inventory and what is claimed on it."""

    name: str
    cpus: float
    memory_mib: int
    disk_gib: int
    cpu_used: float = 0.0
    memory_used: int = 0
    disk_used: int = 0
    runtimes: tuple[str, ...] = ()
    availability_zone: str = "nova"
    enabled: bool = True
    up: bool = True
    containers: int = 0
    revision: int = 0
    cpu_count: int = 0  # physical CPUs, before the allocation ratio of ``cpus``
    storage_driver: str = ""
    supports_disk_quota: bool = False
    # The host's agent as a service (api-other §10).
    id: int = 0
    uuid: str = ""
    memory_total_mib: int = 0  # physical, before the allocation ratio of ``memory_mib``
    disabled_reason: str | None = None
    forced_down: bool = False
    last_seen: dt.datetime | None = None
    report_count: int = 0
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    info: Mapping[str, Any] = field(default_factory=dict)


def service_is_up(
    last_seen: dt.datetime | None, forced_down: bool, now: dt.datetime, down_after: dt.timedelta
) -> bool:
    """Whether a service counts as up: not forced down and heard from within ``down_after``."""
    if forced_down or last_seen is None:
        return False
    return abs(now - last_seen) <= down_after


@dataclass(frozen=True)
class ContainerAction:
    action: str
    container_uuid: str
    request_id: str
    user_id: str
    project_id: str
    start_time: dt.datetime
    finish_time: dt.datetime | None = None
    message: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class ActionEvent:
    event: str
    start_time: dt.datetime
    finish_time: dt.datetime | None = None
    result: str | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class RuntimeEvent:
    """Something happened to a managed container (``action`` as the engine names it).

    ``time``: when the engine says it happened (seconds since the epoch), if it says.
    """

    uuid: str
    action: str
    time: float | None = None
    #: The container's installation label (None when it has none).
    installation: str | None = None


@dataclass(frozen=True)
class ProcessTable:
    """The processes of a container as ``ps`` lists them (every cell is text)."""

    titles: tuple[str, ...]
    processes: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class StatsSnapshot:
    """One sample of a container's resource usage; ``name`` is filled by the control plane."""

    cpu_percent: float
    memory_usage_mib: float  # page cache excluded
    memory_limit_mib: float
    memory_percent: float
    block_read: int
    block_write: int
    net_rx: int
    net_tx: int
    name: str = ""


@dataclass(frozen=True)
class PathStat:
    """What the runtime reports about a path inside a container (``mtime`` is RFC 3339)."""

    name: str
    size: int
    mode: int
    mtime: str
    link_target: str = ""


@dataclass(frozen=True)
class Archive:
    """A tar stream of a path inside a container, and that path's stat."""

    data: bytes
    stat: PathStat
