"""The container-runtime interface every runtime backend implements."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from typing import Protocol

from dockyard.domain.models import (
    Archive,
    ContainerSpec,
    ExecResult,
    HostInfo,
    LogOptions,
    ObservedContainer,
    ProcessTable,
    RuntimeEvent,
    StatsSnapshot,
)


class EventStream(Protocol):
    """A blocking iterator over engine events; ``close()`` ends it from another thread."""

    def __iter__(self) -> Iterator[RuntimeEvent]: ...

    def close(self) -> None: ...


class ConsoleStream(Protocol):
    """A live byte stream to the terminal of a container or of an exec in it."""

    def read(self) -> bytes:
        """The next output bytes as they come; ``b""`` once the stream has ended."""

    def write(self, data: bytes) -> None:
        """Send ``data`` to the process's stdin."""

    def close(self) -> None:
        """End the stream; idempotent, callable from any thread (a blocked ``read``
        then returns ``b""``)."""


class RuntimeDriver(abc.ABC):
    """Creates and drives containers on one host.

    Containers are addressed by their Dockyard UUID; the backend keeps the
    mapping to its own ids (the Docker backend names containers
    ``dockyard-<uuid>`` and labels them ``dockyard.container_id=<uuid>``, with the
    host and installation that made them: see ``dockyard.domain.labels``).
    Errors are domain errors: ``NotFound`` when the container does not exist,
    ``Conflict`` when the runtime refuses in the current state, ``Unavailable``
    when the runtime cannot be reached, ``DriverError`` for any other failure.
    """

    @abc.abstractmethod
    def create(self, spec: ContainerSpec) -> str:
        """Create (without starting) the container described by ``spec``; its runtime id.

        Idempotent: when a container with this UUID already exists its id is
        returned and it is left as it is. The image must already be present.
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
        """Every container Dockyard made on ``host`` (all states, every installation).

        Each carries the installation that made it (None for containers made
        before installations were labelled); which to act on is the caller's choice.
        """

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
    def exec_session(self, uuid: str, command: Sequence[str], tty: bool) -> str:
        """Prepare ``command`` in the running container with stdin open (and a TTY when
        ``tty``), without starting it; its exec id (64 lowercase hex digits).

        Raises ``NotFound``; ``Conflict`` when the container is not running.
        """

    @abc.abstractmethod
    def open_exec(self, uuid: str, exec_id: str) -> ConsoleStream:
        """Start the prepared exec ``exec_id`` of container ``uuid`` and connect to it.

        Output is plain bytes (stdout and stderr interleaved). Raises ``NotFound``
        when the exec is unknown or belongs to another container, ``Conflict``
        when it has already been started.
        """

    @abc.abstractmethod
    def exec_resize(self, uuid: str, exec_id: str, height: int, width: int) -> None:
        """Set the size of the exec's TTY. Raises ``NotFound`` when the exec is unknown
        or belongs to another container."""

    @abc.abstractmethod
    def attach(self, uuid: str) -> ConsoleStream:
        """Connect to the running container's stdin, stdout and stderr.

        Output is plain bytes whether or not the container has a TTY. Closing the
        stream detaches; the container keeps running. Raises ``NotFound``;
        ``Conflict`` when the container is not running.
        """

    @abc.abstractmethod
    def resize_tty(self, uuid: str, height: int, width: int) -> None:
        """Set the size of the container's TTY. Raises ``NotFound``; ``Conflict`` when
        the container is not running."""

    @abc.abstractmethod
    def update_limits(self, uuid: str, cpu: float, memory_mib: int) -> None:
        """Set the CPU ceiling (in CPUs) and the memory limit (MiB, no extra swap).

        Works on created, running, paused and stopped containers, and takes
        effect at once. Idempotent: applying the current limits succeeds.
        Raises ``NotFound``; ``DriverError`` (or ``InvalidInput``) when the
        runtime refuses the values, e.g. a memory limit below current usage.
        """

    @abc.abstractmethod
    def top(self, uuid: str, ps_args: str | None = None) -> ProcessTable:
        """The container's processes, listed by ``ps`` with ``ps_args`` (None: default).

        Read-only. Raises ``NotFound``; ``Conflict`` when the container is not running.
        """

    @abc.abstractmethod
    def stats(self, uuid: str) -> StatsSnapshot:
        """One sample of resource usage (``name`` left empty).

        CPU % is measured over an interval between two readings, normalised so
        that one fully used CPU is 100 %; memory usage leaves the page cache out.
        Read-only; may take about a second. Raises ``NotFound``.
        """

    @abc.abstractmethod
    def get_archive(self, uuid: str, path: str, max_bytes: int) -> Archive:
        """A tar stream of ``path`` (a file or a directory) and the path's stat.

        Read-only. Raises ``NotFound`` when the container does not exist,
        ``InvalidRequest`` when ``path`` does not exist in it, and
        ``PayloadTooLarge`` as soon as the stream passes ``max_bytes`` (what was
        read is dropped: memory stays bounded by the limit).
        """

    @abc.abstractmethod
    def put_archive(self, uuid: str, path: str, data: bytes) -> None:
        """Extract the tar stream ``data`` into the directory ``path``.

        Idempotent: extracting the same archive again leaves the same files.
        Raises ``NotFound`` when the container does not exist,
        ``InvalidRequest`` when ``path`` does not exist and ``InvalidInput``
        when ``data`` is not a tar stream or ``path`` is not a directory.
        """

    @abc.abstractmethod
    def commit(self, uuid: str, repository: str, tag: str) -> str:
        """Save the container's filesystem as the local image ``repository:tag``.

        A running container is paused while its filesystem is copied and then
        resumed. Returns the new image's id. Not idempotent: each call makes a
        new image and moves the tag to it. Raises ``NotFound``, ``InvalidInput``
        for a reference the runtime rejects.
        """

    @abc.abstractmethod
    def host_info(self) -> HostInfo:
        """The host's inventory: CPUs, memory, disk, runtimes."""

    @abc.abstractmethod
    def events(self, host: str) -> EventStream:
        """Follow what happens to the containers of ``host`` (every installation's) from now on.

        Raises ``Unavailable`` when the engine cannot be reached.
        """
