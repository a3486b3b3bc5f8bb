"""The container-runtime interface every runtime backend implements."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from dockyard.domain.models import (
    ContainerSpec,
    ExecResult,
    HostInfo,
    LogOptions,
    ObservedContainer,
)


class RuntimeDriver(abc.ABC):
    """Creates and drives containers on one host.

    Containers are addressed by their Dockyard UUID; the backend keeps the
    mapping to its own ids (the Docker backend names containers
    ``dockyard-<uuid>`` and labels them ``dockyard.container_id=<uuid>``).
    Errors are domain errors: ``NotFound`` when the container does not exist,
    ``Conflict`` when the runtime refuses in the current state, ``Unavailable``
    when the runtime cannot be reached, ``DriverError`` for any other failure.
    """

    @abc.abstractmethod
    def create(self, spec: ContainerSpec) -> ObservedContainer:
        """Create (without starting) the container described by ``spec``.

        Idempotent: when a container with this UUID already exists it is
        returned as it is. The image must already be present.
        """

    @abc.abstractmethod
    def start(self, uuid: str) -> None:
        """Start the container. Idempotent: starting a running container succeeds."""

    @abc.abstractmethod
    def stop(self, uuid: str, timeout: int | None = None) -> None:
        """Stop the container, killing it after ``timeout`` seconds.

        Idempotent: stopping a stopped container succeeds.
        """

    @abc.abstractmethod
    def restart(self, uuid: str, timeout: int | None = None) -> None:
        """Stop (with ``timeout``) and start the container again."""

    @abc.abstractmethod
    def kill(self, uuid: str, signal: str | None = None) -> None:
        """Send ``signal`` (a name such as ``SIGTERM``; default SIGKILL)."""

    @abc.abstractmethod
    def pause(self, uuid: str) -> None:
        """Freeze every process of the container. Idempotent."""

    @abc.abstractmethod
    def unpause(self, uuid: str) -> None:
        """Thaw a paused container. Idempotent."""

    @abc.abstractmethod
    def remove(self, uuid: str, force: bool = False) -> None:
        """Remove the container (``force`` kills it first when running).

        Idempotent: removing a missing container succeeds.
        """

    @abc.abstractmethod
    def inspect(self, uuid: str) -> ObservedContainer:
        """Report the container's current state. Raises ``NotFound``."""

    @abc.abstractmethod
    def list_managed(self, host: str | None = None) -> list[ObservedContainer]:
        """Every container this backend manages (all states)."""

    @abc.abstractmethod
    def logs(self, uuid: str, options: LogOptions) -> str:
        """The container's log as text."""

    @abc.abstractmethod
    def execute(self, uuid: str, command: Sequence[str], timeout: float) -> ExecResult:
        """Run ``command`` in the running container and wait for it.

        Returns the combined stdout/stderr and exit code; raises ``Conflict``
        when the command is still running after ``timeout`` seconds.
        """

    @abc.abstractmethod
    def host_info(self) -> HostInfo:
        """The host's inventory: CPUs, memory, disk, runtimes."""
