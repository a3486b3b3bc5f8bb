"""The Docker Engine implementation of the runtime interface."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import docker

from dockyard.domain.clock import Clock
from dockyard.domain.errors import (
    Conflict,
    DriverError,
    InvalidInput,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
)
from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST, Owner
from dockyard.domain.models import (
    Archive,
    ContainerSpec,
    ExecResult,
    HostInfo,
    LogOptions,
    ObservedContainer,
    ProcessTable,
    StatsSnapshot,
)
from dockyard.domain.states import Status
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.drivers.runtime.docker.console import DockerConsole
from dockyard.drivers.runtime.docker.errors import translated
from dockyard.drivers.runtime.docker.events import DockerEventStream
from dockyard.drivers.runtime.docker.translate import (
    DEFAULT_PUBLISH_ADDRESS,
    container_name,
    create_kwargs,
    observe,
    observe_summary,
    path_stat,
    process_table,
    signal_name,
    stats_snapshot,
    supports_disk_quota,
    update_body,
)

_EPOCH = dt.datetime(1970, 1, 1)
# How long to wait for the engine to record an exec's exit code once its output ended.
_EXEC_SETTLE_SECONDS = 2.0
_EXEC_ID = re.compile(r"[0-9a-f]{64}")
_ATTACH_ALL = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}


class DockerRuntime(RuntimeDriver):
    """Drives containers through one Docker Engine, with docker-py's low-level API."""

    def __init__(
        self,
        client: docker.DockerClient,
        owner: Owner,
        publish_address: str = DEFAULT_PUBLISH_ADDRESS,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.clock = clock or Clock()
        self.api: Any = client.api
        self.owner = owner
        self.host = owner.host
        self.publish_address = publish_address

    def create(self, spec: ContainerSpec) -> str:
        kwargs = create_kwargs(spec, self.owner.installation, self.publish_address)
        try:
            with translated():
                kwargs["host_config"] = self.api.create_host_config(**kwargs["host_config"])
                return str(self.api.create_container(**kwargs)["Id"])
        except Conflict:
            # The name is taken: this container was created before.
            return self.inspect(spec.uuid).runtime_id

    @translated()
    def start(self, uuid: str) -> None:
        # The engine answers 304 (not an error) when the container already runs.
        self.api.start(container_name(uuid))

    @translated()
    def stop(self, uuid: str, timeout: int | None = None) -> None:
        self.api.stop(container_name(uuid), timeout=timeout)

    @translated()
    def restart(self, uuid: str, timeout: int | None = None) -> None:
        # docker-py cannot take timeout=None here; leaving it out keeps its default.
        extra = {} if timeout is None else {"timeout": timeout}
        self.api.restart(container_name(uuid), **extra)

    @translated()
    def kill(self, uuid: str, signal: str | None = None) -> None:
        self.api.kill(container_name(uuid), signal=signal_name(signal))

    def pause(self, uuid: str) -> None:
        try:
            with translated():
                self.api.pause(container_name(uuid))
        except Conflict:
            if self.inspect(uuid).status is not Status.PAUSED:
                raise

    def unpause(self, uuid: str) -> None:
        try:
            with translated():
                self.api.unpause(container_name(uuid))
        except Conflict:
            if self.inspect(uuid).status is Status.PAUSED:
                raise

    def remove(self, uuid: str, force: bool = False) -> None:
        try:
            with translated():
                self.api.remove_container(container_name(uuid), force=force)
        except NotFound:
            pass

    @translated()
    def inspect(self, uuid: str) -> ObservedContainer:
        return observe(self.api.inspect_container(container_name(uuid)), self.clock.now())

    @translated()
    def list_managed(self, host: str | None = None) -> list[ObservedContainer]:
        # Every installation's containers of the host, the unlabelled ones made before
        # installations were labelled among them: the caller decides which are its own.
        labels = [LABEL_CONTAINER_ID]
        if host:
            labels.append(f"{LABEL_HOST}={host}")
        items = self.api.containers(all=True, filters={"label": labels})
        return [observe_summary(item) for item in items]

    @translated()
    def logs(self, uuid: str, options: LogOptions) -> str:
        raw = self.api.logs(
            container_name(uuid),
            stdout=options.stdout,
            stderr=options.stderr,
            timestamps=options.timestamps,
            tail="all" if options.tail is None else options.tail,
            since=_epoch_seconds(options.since),
        )
        return bytes(raw).decode("utf-8", errors="replace")

    @translated()
    def execute(self, uuid: str, command: Sequence[str], timeout: float) -> ExecResult:
        exec_id = self.api.exec_create(
            container_name(uuid), list(command), stdout=True, stderr=True
        )["Id"]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="exec")
        try:
            output = pool.submit(self.api.exec_start, exec_id).result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise Conflict(f"command did not finish within {timeout:g} s") from None
        finally:
            # The engine has no way to cancel an exec; a timed-out reader is left behind
            # and ends with the command or with the client's socket timeout.
            pool.shutdown(wait=False)
        return ExecResult(
            output=bytes(output).decode("utf-8", errors="replace"),
            exit_code=self._exec_exit_code(exec_id),
        )

    @translated()
    def exec_session(self, uuid: str, command: Sequence[str], tty: bool) -> str:
        created = self.api.exec_create(
            container_name(uuid), list(command), stdin=True, tty=tty, stdout=True, stderr=True
        )
        return str(created["Id"])

    def open_exec(self, uuid: str, exec_id: str) -> DockerConsole:
        with translated():
            details = self._own_exec(uuid, exec_id)
            # Started twice, the engine still answers with a stream and only then refuses.
            if details.get("Running") or details.get("Pid") or details.get("ExitCode") is not None:
                raise Conflict(f"exec {exec_id} has already been started")
            tty = bool((details.get("ProcessConfig") or {}).get("tty"))
            raw = self.api.exec_start(exec_id, socket=True, tty=tty)
        return DockerConsole(raw, multiplexed=not tty)

    @translated()
    def exec_resize(self, uuid: str, exec_id: str, height: int, width: int) -> None:
        self._own_exec(uuid, exec_id)
        self.api.exec_resize(exec_id, height=height, width=width)

    def attach(self, uuid: str) -> DockerConsole:
        with translated():
            details = self.api.inspect_container(container_name(uuid))
            # The engine would hold an attach to a stopped container until it starts.
            if not (details.get("State") or {}).get("Running"):
                raise Conflict(f"Container dockyard-{uuid} is not running")
            raw = self.api.attach_socket(container_name(uuid), params=dict(_ATTACH_ALL))
        tty = bool((details.get("Config") or {}).get("Tty"))
        return DockerConsole(raw, multiplexed=not tty)

    @translated()
    def resize_tty(self, uuid: str, height: int, width: int) -> None:
        self.api.resize(container_name(uuid), height=height, width=width)

    def events(self, host: str) -> DockerEventStream:
        return DockerEventStream(self.api, host)

    @translated()
    def host_info(self) -> HostInfo:
        info = self.api.info()
        return HostInfo(
            hostname=self.host,
            cpus=int(info.get("NCPU") or 0),
            memory_mib=int(info.get("MemTotal") or 0) // 2**20,
            disk_gib=_disk_gib(str(info.get("DockerRootDir") or "")),
            runtimes=tuple(sorted(info.get("Runtimes") or {})),
            default_runtime=str(info.get("DefaultRuntime") or ""),
            os=str(info.get("OperatingSystem") or ""),
            kernel=str(info.get("KernelVersion") or ""),
            engine_version=str(info.get("ServerVersion") or ""),
            storage_driver=str(info.get("Driver") or ""),
            supports_disk_quota=supports_disk_quota(info),
        )

    @translated()
    def update_limits(self, uuid: str, cpu: float, memory_mib: int) -> None:
        # docker-py's update_container cannot send NanoCpus, so post the body itself.
        url = self.api._url("/containers/{0}/update", container_name(uuid))
        self.api._result(self.api._post_json(url, data=update_body(cpu, memory_mib)), True)

    def top(self, uuid: str, ps_args: str | None = None) -> ProcessTable:
        try:
            with translated():
                return process_table(self.api.top(container_name(uuid), ps_args=ps_args))
        except DriverError as exc:
            # The engine answers 500 when the container's ps refuses the client's options.
            if ps_args is None:
                raise
            raise InvalidInput(
                f"ps_args: ps in the container refused {ps_args!r}: {exc.detail}",
                field="ps_args",
            ) from exc

    @translated()
    def stats(self, uuid: str) -> StatsSnapshot:
        # Neither streamed nor one-shot: the engine takes two readings about a second
        # apart and sends both (precpu_stats, cpu_stats), so CPU % is a rate.
        return stats_snapshot(self.api.stats(container_name(uuid), stream=False))

    def get_archive(self, uuid: str, path: str, max_bytes: int) -> Archive:
        try:
            with translated():
                chunks, stat = self.api.get_archive(container_name(uuid), path)
                data = _bounded_read(chunks, max_bytes, path)
        except NotFound:
            self._missing_path(uuid, path)
        return Archive(data=data, stat=path_stat(stat))

    def put_archive(self, uuid: str, path: str, data: bytes) -> None:
        try:
            with translated():
                self.api.put_archive(container_name(uuid), path, data)
        except NotFound:
            self._missing_path(uuid, path)

    @translated()
    def commit(self, uuid: str, repository: str, tag: str) -> str:
        # pause=True: the engine pauses a running container for the copy and resumes it.
        image = self.api.commit(container_name(uuid), repository=repository, tag=tag, pause=True)
        return str(image["Id"])

    def _missing_path(self, uuid: str, path: str) -> NoReturn:
        """The archive endpoints answer 404 for a missing container and a missing path alike."""
        self.inspect(uuid)  # raises NotFound when the container is the missing one
        raise InvalidRequest(f"path: {path} does not exist in container {uuid}.", field="path")

    def _own_exec(self, uuid: str, exec_id: str) -> dict[str, Any]:
        """The engine's view of exec ``exec_id``, which must belong to container ``uuid``."""
        container_id = self.api.inspect_container(container_name(uuid))["Id"]
        # A well-formed id also keeps path segments out of the engine URL.
        details = self.api.exec_inspect(exec_id) if _EXEC_ID.fullmatch(exec_id) else {}
        if details.get("ContainerID") != container_id:
            raise NotFound(f"No such exec instance: {exec_id}")
        return dict(details)

    def _exec_exit_code(self, exec_id: str) -> int | None:
        # The output stream can close a moment before the engine records the exit code.
        deadline = time.monotonic() + _EXEC_SETTLE_SECONDS
        while True:
            details = self.api.exec_inspect(exec_id)
            if not details.get("Running") or time.monotonic() >= deadline:
                code = details.get("ExitCode")
                return int(code) if code is not None else None
            time.sleep(0.05)


def _epoch_seconds(since: dt.datetime | int | None) -> int | float | None:
    """``since`` as positive epoch seconds (None for "from the start"); naive means UTC."""
    if isinstance(since, dt.datetime):
        if since.tzinfo is not None:
            since = since.astimezone(dt.UTC).replace(tzinfo=None)
        seconds: int | float | None = (since - _EPOCH).total_seconds()
    else:
        seconds = since
    # docker-py rejects zero and negative values; both mean "everything".
    return seconds if seconds is not None and seconds > 0 else None


def _disk_gib(root_dir: str) -> int:
    if not root_dir:
        return 0
    try:
        usage = shutil.disk_usage(root_dir)
    except OSError:
        return 0
    return (usage.used + usage.free) // 2**30


def _bounded_read(chunks: Iterable[bytes], max_bytes: int, path: str) -> bytes:
    """The stream's bytes, or ``PayloadTooLarge`` as soon as it passes ``max_bytes``."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            raise PayloadTooLarge(
                f"path: the archive of {path} is larger than the {max_bytes} bytes this "
                "service copies at once ([compute] max_archive_size)."
            )
        parts.append(chunk)
    return b"".join(parts)
