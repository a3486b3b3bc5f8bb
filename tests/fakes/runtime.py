"""In-memory runtime and image drivers for unit tests: no Docker, no network.

``FakeRuntime`` follows the contract of ``RuntimeDriver`` (and the behaviour the
contract tests check against the Docker backend): idempotent start / stop /
pause / unpause / remove, ``NotFound`` for a missing UUID, ``Conflict`` when the
engine would refuse in the current state. Every call is recorded, any named
operation can be made to fail (``fail_on``) or to block on an event
(``block_on``) so tests can hold an operation in flight.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import posixpath
import queue
import re
import signal as signals
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.domain.clock import Clock
from dockyard.domain.errors import (
    Conflict,
    DockyardError,
    ImageInUse,
    InvalidImage,
    InvalidInput,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RegistryAuthFailed,
)
from dockyard.domain.image_gc import StoreUsage
from dockyard.domain.image_records import LocalImage, PullProgress, canonical
from dockyard.domain.images import parse_image
from dockyard.domain.models import (
    Archive,
    ContainerSpec,
    ExecResult,
    HostInfo,
    LogOptions,
    ObservedContainer,
    PathStat,
    ProcessTable,
    RuntimeEvent,
    StatsSnapshot,
)
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.states import Status
from dockyard.domain.status_detail import describe
from dockyard.drivers.image.base import ImageDriver, ProgressCallback
from dockyard.drivers.runtime.base import RuntimeDriver
from tests.fakes.clock import FakeClock
from tests.fakes.control import INSTALLATION


@dataclass
class FakeContainer:
    """The state of one engine container."""

    spec: ContainerSpec
    runtime_id: str
    status: Status = Status.CREATED
    exit_code: int | None = None
    error: str = ""
    oom_killed: bool = False
    restart_count: int = 0
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    #: Standard output written before anything tells the time or the stream apart.
    log: str = ""
    #: What the process wrote, line by line, as ``say`` recorded it.
    output: list[LogLine] = field(default_factory=list)
    health: str | None = None  # what a healthcheck would report
    #: Regular files by absolute path, as put_archive left them.
    files: dict[str, bytes] = field(default_factory=dict)
    #: (height, width) last set by resize_tty.
    tty_size: tuple[int, int] | None = None
    #: Streams opened by attach.
    consoles: list[FakeConsole] = field(default_factory=list)
    #: The installation label (None: made before installations were labelled).
    installation: str | None = INSTALLATION


@dataclass(frozen=True)
class LogLine:
    """One line a container's process wrote, when (naive UTC) and to which stream."""

    stream: str  # "stdout" or "stderr"
    at: dt.datetime
    text: str


def _seconds(at: dt.datetime | int) -> float:
    """``at`` as epoch seconds; a naive datetime is UTC."""
    if isinstance(at, int):
        return float(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.timestamp()


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _exit_code_for(signal: str | None) -> int:
    """Exit code of a process killed by ``signal`` (a name or a number; default SIGKILL)."""
    if signal is None:
        return 128 + int(signals.SIGKILL)
    if signal.isdigit():
        return 128 + int(signal)
    name = signal.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    return 128 + int(signals.Signals[name])


class FakeEventStream:
    """Events put on ``queue`` are yielded until ``close()``."""

    def __init__(self) -> None:
        self.queue: queue.Queue[RuntimeEvent | None] = queue.Queue()

    def __iter__(self) -> Iterator[RuntimeEvent]:
        while (event := self.queue.get()) is not None:
            yield event

    def close(self) -> None:
        self.queue.put(None)


def _exit_code_written(data: bytes) -> int | None:
    """N when ``data`` is a shell's ``exit N`` line (0 for a bare ``exit``), else None."""
    match = re.fullmatch(rb"\s*exit(?:\s+(\d+))?\s*", data)
    if match is None:
        return None
    return int(match.group(1) or 0)


class FakeConsole:
    """An in-memory ``ConsoleStream``.

    Every write is recorded in ``written`` and, when ``echo``, comes back out of
    ``read``; ``feed`` adds output as the process would, ``end`` ends the stream as
    the process's exit would. Writing ``exit N`` ends it as a shell would, and tells
    ``on_exit`` the code.
    """

    def __init__(self, echo: bool = True, on_exit: Callable[[int], None] | None = None) -> None:
        self.echo = echo
        self.on_exit = on_exit
        self.written: list[bytes] = []
        self.closed = False
        self._output: queue.Queue[bytes | None] = queue.Queue()
        self._ended = False
        self._lock = threading.Lock()

    def read(self) -> bytes:
        chunk = self._output.get()
        if chunk is None or self.closed:
            self._output.put(None)  # later reads see the end too
            return b""
        return chunk

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._ended:
                raise Conflict("the terminal session has ended")
            self.written.append(data)
            if self.echo:
                self._output.put(data)
        exit_code = _exit_code_written(data)
        if exit_code is not None:
            self.end()
            if self.on_exit is not None:
                self.on_exit(exit_code)

    def feed(self, data: bytes) -> None:
        self._output.put(data)

    def end(self) -> None:
        with self._lock:
            if not self._ended:
                self._ended = True
                self._output.put(None)

    def close(self) -> None:
        self.closed = True
        self.end()


@dataclass
class FakeExec:
    """A command prepared by ``exec_session``; ``console`` is set once it is started."""

    uuid: str
    command: tuple[str, ...]
    tty: bool
    console: FakeConsole | None = None
    #: (height, width) last set by exec_resize.
    size: tuple[int, int] | None = None


class FakeRuntime(RuntimeDriver):
    """An in-memory ``RuntimeDriver``.

    Knobs:
      * ``fail_on[name] = error`` raises ``error`` (after recording the call) whenever the
        operation ``name`` is called; remove the key to heal it.
      * ``block_on[name] = event`` makes ``name`` wait for ``event`` before acting;
        ``entered[name]`` is set as soon as a call of ``name`` is waiting.
      * ``images``: when given, ``create`` refuses images the ``FakeImages`` does not hold.
      * ``exec_results``: queue of results ``execute`` returns (default: empty output, 0).
      * ``execs``: the sessions ``exec_session`` prepared, by exec id; each started one
        holds its ``FakeConsole`` (an echo: what is written comes back out).
      * ``summary_listing``: make ``list_managed`` carry only what Docker's list endpoint
        has (no timestamps, restart count, hostname or command), as the Docker backend does.
    """

    def __init__(
        self,
        host: str = "node-1",
        *,
        images: FakeImages | None = None,
        clock: Clock | None = None,
        host_info: HostInfo | None = None,
    ) -> None:
        self.host = host
        self.images = images
        # Each reading one second after the last, as an engine's times would move.
        self.clock = clock or FakeClock(step=dt.timedelta(seconds=1))
        self.info = host_info or HostInfo(
            hostname=host,
            cpus=4,
            memory_mib=8192,
            disk_gib=100,
            runtimes=("runc",),
            default_runtime="runc",
            engine_version="fake",
        )
        self.containers: dict[str, FakeContainer] = {}
        self.calls: list[Call] = []
        self.fail_on: dict[str, DockyardError] = {}
        self.block_on: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}
        self.exec_results: list[ExecResult] = []
        self.execs: dict[str, FakeExec] = {}
        self.summary_listing = False
        #: Images made by ``commit``: reference -> image id.
        self.committed: dict[str, str] = {}
        self.streams: list[FakeEventStream] = []
        self._lock = threading.RLock()
        self._ids = 0

    # -- test helpers -----------------------------------------------------

    def call_names(self) -> list[str]:
        with self._lock:
            return [c.name for c in self.calls]

    def add(self, spec: ContainerSpec, status: Status = Status.CREATED, **state: Any) -> None:
        """Put a container straight into the engine, as if created earlier (or by hand)."""
        with self._lock:
            self._ids += 1
            self.containers[spec.uuid] = FakeContainer(
                spec=spec, runtime_id=f"fake-{self._ids:04d}", status=status, **state
            )

    def block(self, name: str) -> threading.Event:
        """Make ``name`` wait until the returned event is set; ``entered[name]`` tells when."""
        gate = threading.Event()
        self.entered[name] = threading.Event()
        self.block_on[name] = gate
        return gate

    def exit(self, uuid: str, exit_code: int = 0) -> None:
        """The container's process ends on its own (behind Dockyard's back)."""
        with self._lock:
            box = self._get(uuid)
            box.status = Status.STOPPED
            box.exit_code = exit_code
            box.finished_at = self.clock.now()
            self._end_consoles(uuid)

    def say(self, uuid: str, text: str, stream: str = "stdout") -> None:
        """The container's process writes ``text`` (whole lines) to ``stream``, now."""
        with self._lock:
            box = self._get(uuid)
            at = self.clock.now()
            for line in text.splitlines(keepends=True):
                box.output.append(LogLine(stream, at, line))

    def vanish(self, uuid: str) -> None:
        """Someone removed the container from the engine outside Dockyard."""
        with self._lock:
            self.containers.pop(uuid, None)
            self._end_consoles(uuid)

    # -- internals --------------------------------------------------------

    def _enter(self, name: str, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append(Call(name, args, kwargs))
        gate = self.block_on.get(name)
        if gate is not None:
            self.entered.setdefault(name, threading.Event()).set()
            gate.wait()
        error = self.fail_on.get(name)
        if error is not None:
            raise error

    def _get(self, uuid: str) -> FakeContainer:
        box = self.containers.get(uuid)
        if box is None:
            raise NotFound(f"No such container: dockyard-{uuid}")
        return box

    def _observe(self, box: FakeContainer) -> ObservedContainer:
        detail = describe(
            box.status, box.started_at, box.finished_at, box.exit_code, self.clock.now(), box.health
        )
        return ObservedContainer(
            uuid=box.spec.uuid,
            runtime_id=box.runtime_id,
            status=box.status,
            status_detail=detail or str(box.status),
            exit_code=box.exit_code,
            error=box.error,
            oom_killed=box.oom_killed,
            restart_count=box.restart_count,
            hostname=box.spec.hostname or box.runtime_id[:12],
            command=box.spec.command,
            started_at=box.started_at,
            finished_at=box.finished_at,
            health=box.health,
            installation=box.installation,
        )

    def _run(self, box: FakeContainer) -> None:
        box.status = Status.RUNNING
        box.exit_code = None
        box.started_at = self.clock.now()

    def _halt(self, box: FakeContainer, exit_code: int) -> None:
        box.status = Status.STOPPED
        box.exit_code = exit_code
        box.finished_at = self.clock.now()
        self._end_consoles(box.spec.uuid)

    def _end_consoles(self, uuid: str) -> None:
        """The container's processes are gone, and with them its terminals."""
        box = self.containers.get(uuid)
        for console in box.consoles if box is not None else ():
            console.end()
        for session in self.execs.values():
            if session.uuid == uuid and session.console is not None:
                session.console.end()

    def _main_exits(self, uuid: str, exit_code: int) -> None:
        """The container's main process, a shell driven through attach, has exited."""
        with self._lock:
            box = self.containers.get(uuid)
            if box is not None and box.status is Status.RUNNING:
                self._halt(box, exit_code)

    def _running(self, uuid: str) -> FakeContainer:
        box = self._get(uuid)
        if box.status is not Status.RUNNING:
            raise Conflict(f"Container dockyard-{uuid} is not running")
        return box

    def _exec(self, uuid: str, exec_id: str) -> FakeExec:
        self._get(uuid)
        session = self.execs.get(exec_id)
        if session is None or session.uuid != uuid:
            raise NotFound(f"No such exec instance: {exec_id}")
        return session

    # -- RuntimeDriver ----------------------------------------------------

    def create(self, spec: ContainerSpec) -> str:
        self._enter("create", spec)
        with self._lock:
            if spec.uuid not in self.containers:
                if self.images is not None and not self.images.exists_locally(spec.image):
                    raise NotFound(f"No such image: {spec.image}")
                self.add(spec)
            return self._observe(self.containers[spec.uuid]).runtime_id

    def start(self, uuid: str) -> None:
        self._enter("start", uuid)
        with self._lock:
            box = self._get(uuid)
            if box.status is Status.RUNNING:
                return
            if box.status is Status.PAUSED:
                raise Conflict("cannot start a paused container, try unpause instead")
            self._run(box)

    def stop(self, uuid: str, timeout: int | None = None) -> None:
        self._enter("stop", uuid, timeout=timeout)
        with self._lock:
            box = self._get(uuid)
            if box.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING):
                self._halt(box, 128 + int(signals.SIGTERM))

    def restart(self, uuid: str, timeout: int | None = None) -> None:
        self._enter("restart", uuid, timeout=timeout)
        with self._lock:
            box = self._get(uuid)
            if box.status in (Status.RUNNING, Status.PAUSED):
                self._halt(box, 128 + int(signals.SIGTERM))
            self._run(box)

    def kill(self, uuid: str, signal: str | None = None) -> None:
        self._enter("kill", uuid, signal=signal)
        with self._lock:
            box = self._get(uuid)
            if box.status is not Status.RUNNING:
                raise Conflict(f"Container dockyard-{uuid} is not running")
            self._halt(box, _exit_code_for(signal))

    def pause(self, uuid: str) -> None:
        self._enter("pause", uuid)
        with self._lock:
            box = self._get(uuid)
            if box.status is Status.PAUSED:
                return
            if box.status is not Status.RUNNING:
                raise Conflict(f"Container dockyard-{uuid} is not running")
            box.status = Status.PAUSED

    def unpause(self, uuid: str) -> None:
        self._enter("unpause", uuid)
        with self._lock:
            box = self._get(uuid)
            if box.status is Status.RUNNING:
                return
            if box.status is not Status.PAUSED:
                raise Conflict(f"Container dockyard-{uuid} is not paused")
            box.status = Status.RUNNING

    def remove(self, uuid: str, force: bool = False) -> None:
        self._enter("remove", uuid, force=force)
        with self._lock:
            box = self.containers.get(uuid)
            if box is None:
                return
            if box.status in (Status.RUNNING, Status.PAUSED) and not force:
                raise Conflict(
                    f"You cannot remove a {box.status.lower()} container dockyard-{uuid}. "
                    "Stop the container before attempting removal or force remove"
                )
            self._end_consoles(uuid)
            del self.containers[uuid]

    def inspect(self, uuid: str) -> ObservedContainer:
        self._enter("inspect", uuid)
        with self._lock:
            return self._observe(self._get(uuid))

    def list_managed(self, host: str | None = None) -> list[ObservedContainer]:
        self._enter("list_managed", host)
        with self._lock:
            found = [
                self._observe(box)
                for box in self.containers.values()
                if not host or box.spec.host == host
            ]
        if self.summary_listing:
            found = [
                dataclasses.replace(
                    o,
                    restart_count=0,
                    hostname=None,
                    command=None,
                    started_at=None,
                    finished_at=None,
                )
                for o in found
            ]
        return found

    def logs(self, uuid: str, options: LogOptions) -> str:
        self._enter("logs", uuid, options)
        with self._lock:
            box = self._get(uuid)
            written = box.started_at or self.clock.now()
            lines = [LogLine("stdout", written, text) for text in box.log.splitlines(True)]
            lines += box.output
        # As the engine does: pick the streams, then the time, then the tail.
        wanted = {"stdout"} if options.stdout else set()
        wanted |= {"stderr"} if options.stderr else set()
        lines = [line for line in lines if line.stream in wanted]
        if options.since is not None and _seconds(options.since) > 0:
            since = _seconds(options.since)
            lines = [line for line in lines if _seconds(line.at) >= since]
        if options.tail is not None:
            lines = lines[-options.tail :] if options.tail else []
        if options.timestamps:
            return "".join(f"{line.at:%Y-%m-%dT%H:%M:%S.%f}000Z {line.text}" for line in lines)
        return "".join(line.text for line in lines)

    def execute(self, uuid: str, command: Sequence[str], timeout: float) -> ExecResult:
        self._enter("execute", uuid, tuple(command), timeout=timeout)
        with self._lock:
            if self._get(uuid).status is not Status.RUNNING:
                raise Conflict(f"Container dockyard-{uuid} is not running")
            if self.exec_results:
                return self.exec_results.pop(0)
        return ExecResult(output="", exit_code=0)

    def exec_session(self, uuid: str, command: Sequence[str], tty: bool) -> str:
        self._enter("exec_session", uuid, tuple(command), tty=tty)
        with self._lock:
            self._running(uuid)
            self._ids += 1
            exec_id = f"{self._ids:064x}"
            self.execs[exec_id] = FakeExec(uuid, tuple(command), tty)
            return exec_id

    def open_exec(self, uuid: str, exec_id: str) -> FakeConsole:
        self._enter("open_exec", uuid, exec_id)
        with self._lock:
            session = self._exec(uuid, exec_id)
            if session.console is not None:
                raise Conflict(f"exec {exec_id} has already been started")
            session.console = FakeConsole()
            return session.console

    def exec_resize(self, uuid: str, exec_id: str, height: int, width: int) -> None:
        self._enter("exec_resize", uuid, exec_id, height, width)
        with self._lock:
            session = self._exec(uuid, exec_id)
            self._running(uuid)
            session.size = (height, width)

    def attach(self, uuid: str) -> FakeConsole:
        self._enter("attach", uuid)
        with self._lock:
            box = self._running(uuid)
            console = FakeConsole(on_exit=lambda code: self._main_exits(uuid, code))
            box.consoles.append(console)
            return console

    def resize_tty(self, uuid: str, height: int, width: int) -> None:
        self._enter("resize_tty", uuid, height, width)
        with self._lock:
            box = self._get(uuid)
            if box.status not in (Status.RUNNING, Status.PAUSED):
                raise Conflict(f"Container dockyard-{uuid} is not running")
            box.tty_size = (height, width)

    def update_limits(self, uuid: str, cpu: float, memory_mib: int) -> None:
        self._enter("update_limits", uuid, cpu, memory_mib)
        with self._lock:
            box = self._get(uuid)
            box.spec = dataclasses.replace(box.spec, cpu=cpu, memory_mib=memory_mib)

    def top(self, uuid: str, ps_args: str | None = None) -> ProcessTable:
        self._enter("top", uuid, ps_args)
        with self._lock:
            box = self._get(uuid)
            if box.status is not Status.RUNNING:
                raise Conflict(f"Container dockyard-{uuid} is not running")
            command = " ".join(box.spec.command or ("sh",))
        columns = {"UID": "root", "PID": "1", "CMD": command}
        if ps_args and ps_args.startswith("-o "):
            # ps titles the columns it was asked for; ``comm`` is the bare program name.
            wanted = ps_args[3:].split(",")
            named = {"pid": ("PID", "1"), "comm": ("COMMAND", command.split()[0])}
            columns = dict(named.get(name, (name.upper(), "")) for name in wanted)
        return ProcessTable(tuple(columns), (tuple(columns.values()),))

    def stats(self, uuid: str) -> StatsSnapshot:
        self._enter("stats", uuid)
        with self._lock:
            box = self._get(uuid)
        busy = box.status is Status.RUNNING
        return StatsSnapshot(
            cpu_percent=1.0 if busy else 0.0,
            memory_usage_mib=1.0 if busy else 0.0,
            memory_limit_mib=float(box.spec.memory_mib),
            memory_percent=100.0 / box.spec.memory_mib if busy else 0.0,
            block_read=0,
            block_write=0,
            net_rx=0,
            net_tx=0,
        )

    def get_archive(self, uuid: str, path: str, max_bytes: int) -> Archive:
        self._enter("get_archive", uuid, path)
        with self._lock:
            content = self._get(uuid).files.get(path)
        if content is None:
            raise InvalidRequest(f"path: {path} does not exist in container {uuid}.")
        name = posixpath.basename(path)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        if buffer.tell() > max_bytes:
            raise PayloadTooLarge(f"path: the archive of {path} is larger than {max_bytes} bytes.")
        stat = PathStat(name, len(content), 0o644, "2025-01-01T12:00:00Z")
        return Archive(buffer.getvalue(), stat)

    def put_archive(self, uuid: str, path: str, data: bytes) -> None:
        self._enter("put_archive", uuid, path, data)
        with self._lock:
            box = self._get(uuid)
            known = {"/", "/tmp"} | {posixpath.dirname(f) for f in box.files}
            if path.rstrip("/") not in known and path != "/":
                raise InvalidRequest(f"path: {path} does not exist in container {uuid}.")
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                    for member in tar.getmembers():
                        extracted = tar.extractfile(member)
                        if extracted is not None:
                            target = posixpath.join(path, member.name)
                            box.files[target] = extracted.read()
            except tarfile.TarError as exc:
                raise InvalidInput(f"not a tar archive: {exc}") from exc

    def commit(self, uuid: str, repository: str, tag: str) -> str:
        self._enter("commit", uuid, repository, tag)
        with self._lock:
            self._get(uuid)
            self._ids += 1
            image_id = f"sha256:{self._ids:064x}"
            self.committed[f"{repository}:{tag}"] = image_id
        if self.images is not None:
            self.images.local.add(_normalise(f"{repository}:{tag}"))
        return image_id

    def events(self, host: str) -> FakeEventStream:
        stream = FakeEventStream()
        self.streams.append(stream)
        return stream

    def emit(self, uuid: str, action: str, time: float | None = None) -> None:
        """Deliver an engine event (stamped ``time``, if given) to every open stream."""
        box = self.containers.get(uuid)
        installation = box.installation if box is not None else INSTALLATION
        for stream in self.streams:
            stream.queue.put(RuntimeEvent(uuid, action, time, installation))

    def host_info(self) -> HostInfo:
        self._enter("host_info")
        return dataclasses.replace(self.info)


def _normalise(image: str) -> str:
    try:
        return str(parse_image(image))
    except InvalidImage:
        return image


class FakeImages(ImageDriver):
    """An in-memory ``ImageDriver``: a set of local images and a set in "the registry".

    References are compared after normalisation (``busybox`` == ``busybox:latest``).
    ``pulls`` and ``remote_checks`` log the references asked for, ``auths`` the
    credentials each remote call came with; ``fail_on`` injects errors by operation
    name (``exists_locally``, ``check_remote``, ``pull``). Images in ``private`` are
    served only with the credentials given there.
    """

    def __init__(
        self,
        local: Iterable[str] = (),
        registry: Iterable[str] = (),
        private: Mapping[str, RegistryAuth] | None = None,
    ) -> None:
        self.local: set[str] = {_normalise(i) for i in local}
        self.private = {_normalise(i): auth for i, auth in (private or {}).items()}
        self.registry: set[str] = {_normalise(i) for i in registry} | set(self.private)
        self.pulls: list[str] = []
        self.remote_checks: list[str] = []
        self.auths: list[RegistryAuth | None] = []
        self.fail_on: dict[str, DockyardError] = {}
        #: What ``pull`` tells its progress callback, in order.
        self.pull_steps: list[PullProgress] = []
        #: Image ids that containers of "the engine" use (``images_in_use``).
        self.in_use: set[str] = set()
        #: What ``store_usage`` answers (None: not measurable).
        self.usage: StoreUsage | None = None
        #: References ``remove`` removed, in order.
        self.removed: list[str] = []
        self._lock = threading.Lock()

    def _fail(self, name: str) -> None:
        error = self.fail_on.get(name)
        if error is not None:
            raise error

    def exists_locally(self, image: str) -> bool:
        self._fail("exists_locally")
        with self._lock:
            return _normalise(image) in self.local

    def _login(self, image: str, auth: RegistryAuth | None) -> None:
        wanted = self.private.get(_normalise(image))
        if wanted is not None and auth != wanted:
            raise RegistryAuthFailed(f"registry refused authentication for image '{image}'")

    def check_remote(self, image: str, auth: RegistryAuth | None = None) -> None:
        with self._lock:
            self.remote_checks.append(image)
            self.auths.append(auth)
        self._fail("check_remote")
        self._login(image, auth)
        if _normalise(image) not in self.registry:
            raise InvalidImage(f"image: {image} was not found in its registry", field="image")

    def pull(
        self,
        image: str,
        auth: RegistryAuth | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        with self._lock:
            self.pulls.append(image)
            self.auths.append(auth)
        self._fail("pull")
        self._login(image, auth)
        with self._lock:
            if _normalise(image) not in self.registry:
                raise InvalidImage(f"image: {image} was not found in its registry", field="image")
        for step in self.pull_steps:
            if progress is not None:
                progress(step)
        with self._lock:
            self.local.add(_normalise(image))

    def local_images(self) -> list[LocalImage]:
        with self._lock:
            return [_local(i) for i in sorted(self.local)]

    def inspect(self, image: str) -> LocalImage:
        with self._lock:
            if _normalise(image) not in self.local:
                raise NotFound(f"The engine has no image {image}.")
        return _local(_normalise(image))

    def remove(self, reference: str) -> None:
        self._fail("remove")
        with self._lock:
            if _normalise(reference) not in self.local:
                raise NotFound(f"The engine has no image {reference}.")
            if _local(_normalise(reference)).image_id in self.in_use:
                raise ImageInUse(f"Image {reference} is used by a container.", image=reference)
            self.local.discard(_normalise(reference))
            self.removed.append(reference)

    def images_in_use(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self.in_use)

    def store_usage(self) -> StoreUsage | None:
        return self.usage

    def search(
        self, term: str, exact: bool, auth: RegistryAuth | None = None
    ) -> list[dict[str, Any]]:
        self._fail("search")
        name = parse_image(term).repository
        with self._lock:
            repos = sorted({parse_image(i).repository for i in self.registry})
        return [
            {"name": r, "metadata": {"is_official": False, "star_count": 0}}
            for r in repos
            if (r == name if exact else name in r)
        ]


def _local(reference: str) -> LocalImage:
    ref = parse_image(reference)
    repo, tag = canonical(ref.repository, ref.tag)
    digest = hashlib.sha256(reference.encode()).hexdigest()
    return LocalImage(repo, tag, f"sha256:{digest}", len(reference) * 1000)
