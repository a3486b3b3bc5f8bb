"""What a caller asks for when it creates a container, as typed values.

The API builds one ``ContainerRequest`` from the validated body; the create flow makes the
record from it and the runtime spec is projected from the record. Zun's wire shapes of
these values (``{"Name", "MaximumRetryCount"}``, ``"80/tcp"`` keys, ...) belong to the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dockyard.domain.errors import InvalidInput
from dockyard.domain.images import ImageRef
from dockyard.domain.networks import NetRequest
from dockyard.domain.volumes import MountRequest


class PullPolicy(StrEnum):
    ALWAYS = "always"
    IF_NOT_PRESENT = "ifnotpresent"
    NEVER = "never"

    @classmethod
    def parse(cls, value: str) -> PullPolicy:
        return cls(value.lower())


class CpuPolicy(StrEnum):
    SHARED = "shared"
    #: Whole host CPUs of the container's own (a cpuset).
    DEDICATED = "dedicated"


class RestartPolicyName(StrEnum):
    NO = "no"
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    UNLESS_STOPPED = "unless-stopped"


@dataclass(frozen=True)
class RestartPolicy:
    name: RestartPolicyName
    #: Only ``on-failure`` retries a bounded number of times; 0 for the others.
    maximum_retry_count: int = 0

    @classmethod
    def of(cls, name: str, retries: int) -> RestartPolicy:
        """The policy ``name`` with ``retries``; retries with a policy that never gives up
        are refused, and ignored for ``no``."""
        policy = RestartPolicyName(name)
        if policy in (RestartPolicyName.ALWAYS, RestartPolicyName.UNLESS_STOPPED) and retries:
            raise InvalidInput(
                f"restart_policy: MaximumRetryCount must be 0 with restart policy {name!r}."
            )
        return cls(policy, retries if policy is RestartPolicyName.ON_FAILURE else 0)


@dataclass(frozen=True)
class Healthcheck:
    """A shell command run in the container; durations in seconds. None: the engine's default."""

    test: str
    interval: int | None = None
    retries: int | None = None
    timeout: int | None = None


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"


@dataclass(frozen=True, order=True)
class ExposedPort:
    """A container port to publish on the host."""

    number: int
    protocol: Protocol = Protocol.TCP

    @classmethod
    def parse(cls, text: str) -> ExposedPort:
        """``"80"``, ``"0080/tcp"`` or ``"53/udp"`` (already checked against the grammar)."""
        number, _, protocol = text.partition("/")
        return cls(int(number), Protocol(protocol or Protocol.TCP))

    def __str__(self) -> str:
        return f"{self.number}/{self.protocol}"


@dataclass(frozen=True)
class ContainerRequest:
    """A validated create request, with the version rules of its microversion applied.

    The fields the record keeps have the record's names and types (see ``Container``);
    ``image_ref``, ``host``, ``availability_zone`` and ``registry`` steer the create only.
    """

    #: As the caller wrote it (and as the API shows it).
    image: str
    #: None for a Glance image (named by Glance's id or name).
    image_ref: ImageRef | None
    name: str | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    cpu: float | None = None
    cpu_policy: CpuPolicy = CpuPolicy.SHARED
    memory: int | None = None  # MiB
    disk: int | None = None  # GiB
    environment: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    hostname: str | None = None
    image_pull_policy: PullPolicy | None = None
    image_driver: str = "docker"
    restart_policy: RestartPolicy | None = None
    interactive: bool = False
    tty: bool = False
    auto_remove: bool = False
    auto_heal: bool = False
    privileged: bool = False
    runtime: str | None = None
    healthcheck: Healthcheck | None = None
    exposed_ports: tuple[ExposedPort, ...] = ()
    #: Placement hints.
    availability_zone: str | None = None
    host: str | None = None
    #: UUID or name of one of the caller's registries to pull the image from.
    registry: str | None = None
    #: Networks or ports to attach to; none: the project's network.
    nets: tuple[NetRequest, ...] = ()
    #: Security group names or ids, de-duplicated; none: the project's ``default``.
    security_groups: tuple[str, ...] = ()
    #: Checked ``mounts`` entries: volumes to attach or create, files to inject.
    mounts: tuple[MountRequest, ...] = ()


#: Request fields that steer the create and are not kept on the record as asked.
STEERING_FIELDS = frozenset(
    {
        "image_ref",
        "name",
        "availability_zone",
        "host",
        "registry",
        "nets",
        "security_groups",
        "mounts",
    }
)
