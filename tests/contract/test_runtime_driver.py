"""The Docker runtime and image drivers against a real Docker Engine.

Needs the engine on its usual socket (or ``DOCKER_HOST``), the local image
``dockyard-test/busybox:latest`` and a registry on 127.0.0.1:5001 serving
``dockyard-test/busybox:latest``. Without them the tests are skipped, unless
``CI`` is set, where they fail.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import queue
import re
import socket
import tarfile
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, NoReturn

import docker
import docker.errors
import pytest

from dockyard.domain.errors import Conflict, InvalidImage, InvalidInput, InvalidRequest, NotFound
from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST, LABEL_INSTALLATION, Owner
from dockyard.domain.models import ContainerSpec, LogOptions
from dockyard.domain.states import Status
from dockyard.drivers.image.docker import DockerImages
from dockyard.drivers.runtime.base import ConsoleStream
from dockyard.drivers.runtime.docker.driver import DockerRuntime

pytestmark = pytest.mark.docker

IMAGE = "dockyard-test/busybox:latest"
REGISTRY = "127.0.0.1:5001"
REGISTRY_IMAGE = f"{REGISTRY}/dockyard-test/busybox:latest"
HOST = "contract-host"
INSTALLATION = "c0a7ac70-0000-4000-8000-000000000001"
# PID 1 leaves on SIGTERM (sleep alone would ignore it), so stops are quick.
SLEEPER = ("sh", "-c", "trap 'exit 143' TERM; sleep 300 & wait")


def unavailable(reason: str) -> NoReturn:
    """Skip loudly on a developer machine; fail in CI, where the engine must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(f"!!! DOCKER CONTRACT TESTS SKIPPED: {reason} (set CI=1 to make this fail)")


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    try:
        engine = docker.from_env(timeout=30)
        engine.ping()
    except Exception as exc:  # any failure here means "no engine"
        unavailable(f"Docker Engine unreachable ({exc})")
    try:
        engine.api.inspect_image(IMAGE)
    except docker.errors.NotFound:
        unavailable(f"test image {IMAGE} is missing (build it locally; never pull it)")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def runtime(client: docker.DockerClient) -> DockerRuntime:
    return DockerRuntime(client, Owner(INSTALLATION, HOST))


@pytest.fixture(scope="module")
def images(client: docker.DockerClient) -> DockerImages:
    return DockerImages(client)


@pytest.fixture
def registry() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5001), timeout=2).close()
    except OSError as exc:
        unavailable(f"registry {REGISTRY} unreachable ({exc})")


Factory = Callable[..., ContainerSpec]


@pytest.fixture
def make_container(runtime: DockerRuntime) -> Iterator[Factory]:
    """Create containers with fresh UUIDs; every one is force-removed afterwards."""
    created: list[str] = []

    def make(*, start: bool = False, **fields: Any) -> ContainerSpec:
        spec = ContainerSpec(
            uuid=str(uuidlib.uuid4()),
            name="contract",
            image=IMAGE,
            **{"command": SLEEPER, "host": HOST, **fields},
        )
        created.append(spec.uuid)
        runtime.create(spec)
        if start:
            runtime.start(spec.uuid)
        return spec

    yield make
    for uuid in created:
        runtime.remove(uuid, force=True)


@pytest.fixture
def running(make_container: Factory) -> ContainerSpec:
    return make_container(start=True)


def wait_for_status(
    runtime: DockerRuntime, uuid: str, status: Status, within: float = 10.0
) -> None:
    deadline = time.monotonic() + within
    while runtime.inspect(uuid).status is not status:
        assert time.monotonic() < deadline, f"{uuid} never reached {status}"
        time.sleep(0.05)


def read_first(runtime: DockerRuntime, uuid: str, *paths: str) -> str:
    """The content of the first readable file among ``paths`` inside the container."""
    script = " || ".join(f"cat {path} 2>/dev/null" for path in paths)
    result = runtime.execute(uuid, ["sh", "-c", script], timeout=10)
    assert result.exit_code == 0, f"none of {paths} readable: {result.output!r}"
    return result.output.strip()


# --- lifecycle ------------------------------------------------------------------------------


def test_create_then_start_runs_the_labelled_container(
    runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container()
    assert runtime.inspect(spec.uuid).status is Status.CREATED

    runtime.start(spec.uuid)

    observed = runtime.inspect(spec.uuid)
    assert observed.status is Status.RUNNING
    assert observed.uuid == spec.uuid
    assert observed.status_detail.startswith("Up")
    assert observed.command == SLEEPER
    assert observed.started_at is not None


def test_memory_and_cpu_limits_apply(runtime: DockerRuntime, make_container: Factory) -> None:
    spec = make_container(start=True, memory_mib=64, cpu=0.5)

    memory = read_first(
        runtime,
        spec.uuid,
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory.max",
    )
    cpu = read_first(
        runtime,
        spec.uuid,
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
        "/sys/fs/cgroup/cpu.max",
    )

    assert int(memory) == 64 * 2**20
    quota, period = (int(value) for value in cpu.split())
    assert quota / period == pytest.approx(0.5)


def test_stop_with_timeout_is_fast_and_records_exit_code(
    runtime: DockerRuntime, running: ContainerSpec
) -> None:
    began = time.monotonic()
    runtime.stop(running.uuid, timeout=1)

    assert time.monotonic() - began < 5
    observed = runtime.inspect(running.uuid)
    assert observed.status is Status.STOPPED
    assert observed.exit_code == 143  # the trap's exit on SIGTERM
    assert observed.status_detail.startswith("Exited (143)")


def test_stop_kills_after_the_timeout(runtime: DockerRuntime, make_container: Factory) -> None:
    spec = make_container(start=True, command=("sh", "-c", "trap '' TERM; sleep 300"))

    began = time.monotonic()
    runtime.stop(spec.uuid, timeout=1)

    assert time.monotonic() - began < 5
    assert runtime.inspect(spec.uuid).exit_code == 137


def test_operations_are_idempotent(runtime: DockerRuntime, make_container: Factory) -> None:
    spec = make_container()
    first = runtime.inspect(spec.uuid)
    assert runtime.create(spec) == first.runtime_id

    runtime.start(spec.uuid)
    runtime.start(spec.uuid)
    assert runtime.inspect(spec.uuid).status is Status.RUNNING

    runtime.pause(spec.uuid)
    runtime.pause(spec.uuid)
    assert runtime.inspect(spec.uuid).status is Status.PAUSED

    runtime.unpause(spec.uuid)
    runtime.unpause(spec.uuid)
    assert runtime.inspect(spec.uuid).status is Status.RUNNING

    runtime.stop(spec.uuid, timeout=1)
    runtime.stop(spec.uuid, timeout=1)
    assert runtime.inspect(spec.uuid).status is Status.STOPPED

    runtime.remove(spec.uuid)
    runtime.remove(spec.uuid)
    with pytest.raises(NotFound):
        runtime.inspect(spec.uuid)


@pytest.mark.parametrize(("signal", "exit_code"), [("SIGTERM", 143), ("9", 137), (None, 137)])
def test_kill_sends_the_signal(
    runtime: DockerRuntime, running: ContainerSpec, signal: str | None, exit_code: int
) -> None:
    runtime.kill(running.uuid, signal)

    wait_for_status(runtime, running.uuid, Status.STOPPED)
    assert runtime.inspect(running.uuid).exit_code == exit_code


def test_kill_of_a_stopped_container_conflicts(
    runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.kill(spec.uuid, "SIGTERM")


def test_pause_and_unpause(runtime: DockerRuntime, running: ContainerSpec) -> None:
    runtime.pause(running.uuid)
    paused = runtime.inspect(running.uuid)
    assert paused.status is Status.PAUSED
    assert paused.status_detail.endswith("(Paused)")

    runtime.unpause(running.uuid)
    assert runtime.inspect(running.uuid).status is Status.RUNNING


def test_pause_of_a_created_container_conflicts(
    runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.pause(spec.uuid)


def test_restart_starts_the_container_again(runtime: DockerRuntime, running: ContainerSpec) -> None:
    before = runtime.inspect(running.uuid).started_at
    assert before is not None

    runtime.restart(running.uuid, timeout=1)

    after = runtime.inspect(running.uuid)
    assert after.status is Status.RUNNING
    assert after.started_at is not None and after.started_at > before


def test_remove_needs_force_while_running(runtime: DockerRuntime, running: ContainerSpec) -> None:
    with pytest.raises(Conflict):
        runtime.remove(running.uuid)

    runtime.remove(running.uuid, force=True)

    with pytest.raises(NotFound):
        runtime.inspect(running.uuid)


def test_missing_containers_are_not_found(runtime: DockerRuntime) -> None:
    missing = str(uuidlib.uuid4())

    with pytest.raises(NotFound):
        runtime.inspect(missing)
    with pytest.raises(NotFound):
        runtime.start(missing)
    runtime.remove(missing)


# --- logs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chatty(runtime: DockerRuntime) -> Iterator[ContainerSpec]:
    """A finished container that wrote to both streams; shared by the read-only log tests."""
    spec = ContainerSpec(
        uuid=str(uuidlib.uuid4()),
        name="contract-logs",
        image=IMAGE,
        host=HOST,
        # The engine copies stdout and stderr separately; pauses keep their lines in order.
        command=("sh", "-c", "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2"),
    )
    try:
        runtime.create(spec)
        runtime.start(spec.uuid)
        wait_for_status(runtime, spec.uuid, Status.STOPPED)
        yield spec
    finally:
        runtime.remove(spec.uuid, force=True)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (LogOptions(), "out1\nerr1\nout2\n"),
        (LogOptions(stderr=False), "out1\nout2\n"),
        (LogOptions(stdout=False), "err1\n"),
        (LogOptions(tail=1), "out2\n"),
        (LogOptions(since=int(time.time()) + 3600), ""),
        (LogOptions(since=dt.datetime(2000, 1, 1)), "out1\nerr1\nout2\n"),
    ],
    ids=["all", "stdout", "stderr", "tail", "since-future", "since-datetime"],
)
def test_logs(
    runtime: DockerRuntime, chatty: ContainerSpec, options: LogOptions, expected: str
) -> None:
    assert runtime.logs(chatty.uuid, options) == expected


def test_logs_with_timestamps(runtime: DockerRuntime, chatty: ContainerSpec) -> None:
    lines = runtime.logs(chatty.uuid, LogOptions(stderr=False, timestamps=True)).splitlines()

    assert [line.split(" ", 1)[1] for line in lines] == ["out1", "out2"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", line) for line in lines)


# --- execute --------------------------------------------------------------------------------


def test_execute_returns_output_and_exit_code(
    runtime: DockerRuntime, running: ContainerSpec
) -> None:
    result = runtime.execute(running.uuid, ["sh", "-c", "echo out; echo err >&2; exit 3"], 10)

    assert result.exit_code == 3
    assert sorted(result.output.splitlines()) == ["err", "out"]


def test_execute_timeout_conflicts(runtime: DockerRuntime, running: ContainerSpec) -> None:
    began = time.monotonic()

    with pytest.raises(Conflict, match="did not finish within"):
        runtime.execute(running.uuid, ["sleep", "30"], timeout=0.5)

    assert time.monotonic() - began < 5


def test_execute_in_a_stopped_container_conflicts(
    runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.execute(spec.uuid, ["true"], timeout=5)


# --- listing and host -----------------------------------------------------------------------


def test_list_managed_filters_by_host(runtime: DockerRuntime, make_container: Factory) -> None:
    here = make_container(start=True)
    elsewhere = make_container(host="other-host")

    def uuids(host: str | None) -> set[str]:
        return {observed.uuid for observed in runtime.list_managed(host)}

    assert {here.uuid, elsewhere.uuid} <= uuids(None)
    assert here.uuid in uuids(HOST) and elsewhere.uuid not in uuids(HOST)
    assert elsewhere.uuid in uuids("other-host") and here.uuid not in uuids("other-host")
    listed = {observed.uuid: observed for observed in runtime.list_managed(HOST)}
    assert listed[here.uuid].status is Status.RUNNING
    assert listed[here.uuid].runtime_id == runtime.inspect(here.uuid).runtime_id


def test_list_managed_ignores_unlabelled_containers(
    client: docker.DockerClient, runtime: DockerRuntime
) -> None:
    name = f"not-dockyard-{uuidlib.uuid4()}"
    client.api.create_container(IMAGE, list(SLEEPER), name=name, labels={"other": "x"})
    try:
        names = {observed.runtime_id for observed in runtime.list_managed()}
        assert client.api.inspect_container(name)["Id"] not in names
    finally:
        client.api.remove_container(name, force=True)


def test_created_container_carries_the_uuid_label(
    client: docker.DockerClient, make_container: Factory
) -> None:
    spec = make_container()

    labels = client.api.inspect_container(f"dockyard-{spec.uuid}")["Config"]["Labels"]

    assert labels[LABEL_CONTAINER_ID] == spec.uuid
    assert (labels[LABEL_HOST], labels[LABEL_INSTALLATION]) == (HOST, INSTALLATION)


def test_listing_tells_each_container_s_installation(
    client: docker.DockerClient, runtime: DockerRuntime, make_container: Factory
) -> None:
    """The host's containers of every installation, unlabelled ones included, each
    with the installation that made it: which to act on is the agent's choice."""
    ours = make_container()
    other = DockerRuntime(client, Owner("another-installation", HOST))
    theirs = replace(ours, uuid=str(uuidlib.uuid4()))
    legacy = str(uuidlib.uuid4())
    other.create(theirs)
    client.api.create_container(
        IMAGE,
        name=f"dockyard-{legacy}",
        labels={LABEL_CONTAINER_ID: legacy, LABEL_HOST: HOST},
    )
    try:
        listed = {o.uuid: o.installation for o in runtime.list_managed(HOST)}
    finally:
        other.remove(theirs.uuid, force=True)
        client.api.remove_container(f"dockyard-{legacy}", force=True)

    assert listed[ours.uuid] == INSTALLATION
    assert listed[theirs.uuid] == "another-installation"
    assert listed[legacy] is None
    assert runtime.inspect(ours.uuid).installation == INSTALLATION


def test_host_info(runtime: DockerRuntime) -> None:
    info = runtime.host_info()

    assert info.hostname == HOST
    assert info.cpus > 0
    assert info.memory_mib > 0
    assert info.disk_gib >= 0
    assert "runc" in info.runtimes
    assert info.default_runtime in info.runtimes
    assert info.engine_version


# --- images ---------------------------------------------------------------------------------


def test_exists_locally(images: DockerImages) -> None:
    assert images.exists_locally(IMAGE) is True
    assert images.exists_locally("no-such-image-xyz:1") is False


@pytest.mark.usefixtures("registry")
def test_check_remote_finds_the_registry_image(images: DockerImages) -> None:
    images.check_remote(REGISTRY_IMAGE)


@pytest.mark.usefixtures("registry")
def test_check_remote_of_a_missing_image(images: DockerImages) -> None:
    with pytest.raises(InvalidImage, match=r"'127.0.0.1:5001/nope/nothing:1' was not found"):
        images.check_remote(f"{REGISTRY}/nope/nothing:1")


def test_check_remote_of_an_unreachable_registry(images: DockerImages) -> None:
    with pytest.raises(InvalidImage, match=r"registry 127.0.0.1:5999 could not be reached"):
        images.check_remote("127.0.0.1:5999/x:1")


@pytest.mark.usefixtures("registry")
def test_pull_fetches_the_image(client: docker.DockerClient, images: DockerImages) -> None:
    # Only the registry-tagged name goes; the base image shares its layers and stays.
    if images.exists_locally(REGISTRY_IMAGE):
        client.api.remove_image(REGISTRY_IMAGE)
    assert images.exists_locally(REGISTRY_IMAGE) is False

    images.pull(REGISTRY_IMAGE)

    assert images.exists_locally(REGISTRY_IMAGE) is True
    assert images.exists_locally(IMAGE) is True


@pytest.mark.usefixtures("registry")
def test_pull_of_a_missing_image(images: DockerImages) -> None:
    with pytest.raises(InvalidImage, match="was not found"):
        images.pull(f"{REGISTRY}/nope/nothing:1")


# --- live limits, top, stats ----------------------------------------------------------------


def cgroup_limits(runtime: DockerRuntime, uuid: str) -> tuple[float, int]:
    """(CPUs, memory bytes) the container's cgroup enforces (v1 or v2)."""
    memory = read_first(
        runtime, uuid, "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"
    )
    cpu = read_first(
        runtime,
        uuid,
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
        "/sys/fs/cgroup/cpu.max",
    )
    quota, period = (int(value) for value in cpu.split())
    return quota / period, int(memory)


def test_update_limits_of_a_running_container(
    runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container(start=True, memory_mib=32, cpu=0.25)

    runtime.update_limits(spec.uuid, 0.5, 64)
    runtime.update_limits(spec.uuid, 0.5, 64)

    cpus, memory = cgroup_limits(runtime, spec.uuid)
    assert (cpus, memory) == (pytest.approx(0.5), 64 * 2**20)


def test_update_limits_of_a_stopped_container_keeps_no_extra_swap(
    client: docker.DockerClient, runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container(memory_mib=64, cpu=1.0)

    runtime.update_limits(spec.uuid, 0.25, 16)

    host_config = client.api.inspect_container(f"dockyard-{spec.uuid}")["HostConfig"]
    assert host_config["NanoCpus"] == 250_000_000
    assert host_config["Memory"] == host_config["MemorySwap"] == 16 * 2**20


def test_update_limits_of_a_missing_container(runtime: DockerRuntime) -> None:
    with pytest.raises(NotFound):
        runtime.update_limits(str(uuidlib.uuid4()), 0.5, 64)


def test_top_lists_the_processes(runtime: DockerRuntime, running: ContainerSpec) -> None:
    table = runtime.top(running.uuid)

    assert "PID" in table.titles
    assert any("sleep 300" in " ".join(row) for row in table.processes)
    assert runtime.top(running.uuid, "-o pid,comm").titles == ("PID", "COMMAND")


def test_top_of_a_stopped_container_conflicts(
    runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.top(spec.uuid)


def test_stats_of_a_busy_container(runtime: DockerRuntime, make_container: Factory) -> None:
    busy = ("sh", "-c", "trap 'exit 0' TERM; while :; do :; done")
    spec = make_container(start=True, cpu=0.5, memory_mib=32, command=busy)

    snapshots = [runtime.stats(spec.uuid) for _ in range(2)]

    assert 25 <= max(s.cpu_percent for s in snapshots) <= 75
    last = snapshots[-1]
    assert last.memory_limit_mib == pytest.approx(32)
    assert 0 < last.memory_usage_mib < 32
    assert last.name == ""


def test_stats_of_an_idle_and_of_a_missing_container(
    runtime: DockerRuntime, running: ContainerSpec
) -> None:
    assert runtime.stats(running.uuid).cpu_percent < 5
    with pytest.raises(NotFound):
        runtime.stats(str(uuidlib.uuid4()))


# --- archives and commit --------------------------------------------------------------------


def tar_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_archive_round_trip(runtime: DockerRuntime, make_container: Factory) -> None:
    spec = make_container()  # created, never started: archives work all the same
    content = bytes(range(256)) * 3

    runtime.put_archive(spec.uuid, "/tmp", tar_of("blob.bin", content))
    runtime.put_archive(spec.uuid, "/tmp", tar_of("blob.bin", content))
    archive = runtime.get_archive(spec.uuid, "/tmp/blob.bin")

    with tarfile.open(fileobj=io.BytesIO(archive.data)) as tar:
        extracted = tar.extractfile("blob.bin")
        assert extracted is not None and extracted.read() == content
    assert (archive.stat.name, archive.stat.size, archive.stat.link_target) == (
        "blob.bin",
        768,
        "",
    )


def test_archive_of_a_symlink_reports_its_target(
    runtime: DockerRuntime, running: ContainerSpec
) -> None:
    script = "echo x > /tmp/target && ln -s /tmp/target /tmp/link"
    assert runtime.execute(running.uuid, ["sh", "-c", script], timeout=10).exit_code == 0

    assert runtime.get_archive(running.uuid, "/tmp/link").stat.link_target == "/tmp/target"


def test_archive_errors(runtime: DockerRuntime, running: ContainerSpec) -> None:
    with pytest.raises(InvalidRequest, match="/no/such/file"):
        runtime.get_archive(running.uuid, "/no/such/file")
    with pytest.raises(InvalidRequest, match="/no/such/dir"):
        runtime.put_archive(running.uuid, "/no/such/dir", tar_of("x", b"x"))
    with pytest.raises(InvalidInput):
        runtime.put_archive(running.uuid, "/tmp", b"not a tar stream" * 64)
    with pytest.raises(InvalidInput):
        runtime.put_archive(running.uuid, "/etc/hostname", tar_of("x", b"x"))
    with pytest.raises(NotFound):
        runtime.get_archive(str(uuidlib.uuid4()), "/tmp")


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_commit_makes_an_image_and_leaves_the_state_alone(
    client: docker.DockerClient, runtime: DockerRuntime, running: ContainerSpec, paused: bool
) -> None:
    runtime.execute(running.uuid, ["sh", "-c", "echo committed > /marker"], timeout=10)
    if paused:
        runtime.pause(running.uuid)
    repository = f"dockyard-test/contract-{uuidlib.uuid4().hex[:8]}"
    try:
        image_id = runtime.commit(running.uuid, repository, "v1")

        assert client.api.inspect_image(f"{repository}:v1")["Id"] == image_id
        expected = Status.PAUSED if paused else Status.RUNNING
        assert runtime.inspect(running.uuid).status is expected
    finally:
        client.api.remove_image(f"{repository}:v1", force=True)


def test_commit_of_a_missing_container(runtime: DockerRuntime) -> None:
    with pytest.raises(NotFound):
        runtime.commit(str(uuidlib.uuid4()), "dockyard-test/never", "latest")


# --- terminals ------------------------------------------------------------------------------


class Terminal:
    """Reads a console stream in a background thread, so a test can wait with a deadline."""

    def __init__(self, stream: ConsoleStream) -> None:
        self.stream = stream
        self.output = b""
        self.ended = threading.Event()
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        while chunk := self.stream.read():
            self._chunks.put(chunk)
        self.ended.set()
        self._chunks.put(b"")

    def until(self, *markers: bytes, within: float = 10.0) -> bytes:
        """All output so far once every one of ``markers`` has appeared in it."""
        deadline = time.monotonic() + within
        while not all(marker in self.output for marker in markers):
            left = deadline - time.monotonic()
            assert left > 0, f"{markers} never came; got {self.output!r}"
            try:
                chunk = self._chunks.get(timeout=left)
            except queue.Empty:
                continue
            assert chunk, f"stream ended before {markers}; got {self.output!r}"
            self.output += chunk
        return self.output

    def run(self, command: str, *markers: bytes) -> bytes:
        self.stream.write(command.encode() + b"\n")
        return self.until(*markers)

    def wait_end(self, within: float = 10.0) -> None:
        assert self.ended.wait(within), f"stream still open; got {self.output!r}"


Terminals = Callable[[ConsoleStream], Terminal]


@pytest.fixture
def terminals() -> Iterator[Terminals]:
    """Wrap streams in ``Terminal``s; every one is closed afterwards."""
    opened: list[Terminal] = []

    def wrap(stream: ConsoleStream) -> Terminal:
        opened.append(Terminal(stream))
        return opened[-1]

    yield wrap
    for terminal in opened:
        terminal.stream.close()


# The shell expands $((6*7)); a TTY echoing the input back shows only the unexpanded text.
MARKER_COMMAND = "echo marker-$((6*7))"
BOTH_STREAMS = "echo out-$((6*7)); echo err-$((6*7)) >&2"


def lines_of(output: bytes) -> list[bytes]:
    return sorted(line.strip() for line in output.splitlines() if line.strip())


@pytest.mark.parametrize("tty", [True, False], ids=["tty", "no-tty"])
def test_exec_session_runs_a_shell_until_its_exit(
    client: docker.DockerClient,
    runtime: DockerRuntime,
    running: ContainerSpec,
    terminals: Terminals,
    tty: bool,
) -> None:
    exec_id = runtime.exec_session(running.uuid, ["sh"], tty=tty)
    assert re.fullmatch(r"[0-9a-f]{64}", exec_id)
    shell = terminals(runtime.open_exec(running.uuid, exec_id))

    shell.run(MARKER_COMMAND, b"marker-42")
    shell.stream.write(b"exit 3\n")

    shell.wait_end()
    assert client.api.exec_inspect(exec_id)["ExitCode"] == 3
    assert b"\x00" not in shell.output  # no frame headers
    assert runtime.inspect(running.uuid).status is Status.RUNNING


def test_exec_without_tty_is_demultiplexed(
    runtime: DockerRuntime, running: ContainerSpec, terminals: Terminals
) -> None:
    shell = terminals(
        runtime.open_exec(running.uuid, runtime.exec_session(running.uuid, ["sh"], False))
    )

    output = shell.run(BOTH_STREAMS, b"out-42", b"err-42")

    assert lines_of(output) == [b"err-42", b"out-42"]
    assert b"\x00" not in output  # no frame headers


def test_exec_resize_sets_the_tty_size(
    runtime: DockerRuntime, running: ContainerSpec, terminals: Terminals
) -> None:
    exec_id = runtime.exec_session(running.uuid, ["sh"], tty=True)
    shell = terminals(runtime.open_exec(running.uuid, exec_id))

    runtime.exec_resize(running.uuid, exec_id, 37, 113)

    shell.run("stty size", b"37 113")


def test_close_wakes_a_blocked_read(runtime: DockerRuntime, running: ContainerSpec) -> None:
    stream = runtime.open_exec(running.uuid, runtime.exec_session(running.uuid, ["sh"], False))
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(stream.read()), daemon=True)
    reader.start()
    reader.join(timeout=0.5)
    assert reader.is_alive()  # a shell without a TTY prints nothing until asked

    stream.close()
    stream.close()

    reader.join(timeout=5)
    assert got == [b""]


@pytest.fixture
def make_shell(make_container: Factory) -> Callable[[bool], ContainerSpec]:
    """A running container whose main process is a shell reading its open stdin."""

    def make(tty: bool) -> ContainerSpec:
        return make_container(start=True, command=("sh",), interactive=True, tty=tty)

    return make


@pytest.mark.parametrize("tty", [True, False], ids=["tty", "no-tty"])
def test_attach_runs_commands_and_detaching_leaves_the_container_running(
    runtime: DockerRuntime,
    make_shell: Callable[[bool], ContainerSpec],
    terminals: Terminals,
    tty: bool,
) -> None:
    spec = make_shell(tty)
    first = terminals(runtime.attach(spec.uuid))
    first.run(MARKER_COMMAND, b"marker-42")

    first.stream.close()

    assert runtime.inspect(spec.uuid).status is Status.RUNNING
    # stdin stayed open: a new attach still drives the same shell
    terminals(runtime.attach(spec.uuid)).run("echo again-$((6*7))", b"again-42")


@pytest.mark.parametrize("tty", [True, False], ids=["tty", "no-tty"])
def test_attach_ends_when_the_container_exits(
    runtime: DockerRuntime,
    make_shell: Callable[[bool], ContainerSpec],
    terminals: Terminals,
    tty: bool,
) -> None:
    spec = make_shell(tty)
    shell = terminals(runtime.attach(spec.uuid))

    shell.stream.write(b"exit 3\n")

    shell.wait_end()
    wait_for_status(runtime, spec.uuid, Status.STOPPED)
    assert runtime.inspect(spec.uuid).exit_code == 3


def test_attach_without_tty_is_demultiplexed(
    runtime: DockerRuntime, make_shell: Callable[[bool], ContainerSpec], terminals: Terminals
) -> None:
    spec = make_shell(False)
    shell = terminals(runtime.attach(spec.uuid))

    output = shell.run(BOTH_STREAMS, b"out-42", b"err-42")

    assert lines_of(output) == [b"err-42", b"out-42"]
    assert b"\x00" not in output  # no frame headers


def test_resize_tty_sets_the_size(
    runtime: DockerRuntime, make_shell: Callable[[bool], ContainerSpec], terminals: Terminals
) -> None:
    spec = make_shell(True)

    runtime.resize_tty(spec.uuid, 37, 113)

    terminals(runtime.attach(spec.uuid)).run("stty size", b"37 113")


def test_exec_belongs_to_its_container(
    runtime: DockerRuntime, make_container: Factory, terminals: Terminals
) -> None:
    owner, other = make_container(start=True), make_container(start=True)
    exec_id = runtime.exec_session(owner.uuid, ["sh"], tty=True)

    with pytest.raises(NotFound):
        runtime.open_exec(other.uuid, exec_id)
    with pytest.raises(NotFound):
        runtime.exec_resize(other.uuid, exec_id, 30, 100)
    with pytest.raises(NotFound):
        runtime.open_exec(owner.uuid, "0" * 64)
    with pytest.raises(NotFound):
        runtime.open_exec(owner.uuid, "../containers/x")
    terminals(runtime.open_exec(owner.uuid, exec_id)).run(MARKER_COMMAND, b"marker-42")


def test_an_exec_starts_only_once(
    runtime: DockerRuntime, running: ContainerSpec, terminals: Terminals
) -> None:
    exec_id = runtime.exec_session(running.uuid, ["sh"], tty=False)
    shell = terminals(runtime.open_exec(running.uuid, exec_id))

    with pytest.raises(Conflict):
        runtime.open_exec(running.uuid, exec_id)
    shell.stream.write(b"exit 0\n")
    shell.wait_end()
    with pytest.raises(Conflict):
        runtime.open_exec(running.uuid, exec_id)


def test_terminals_of_a_stopped_container_conflict(
    runtime: DockerRuntime, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.exec_session(spec.uuid, ["sh"], tty=True)
    with pytest.raises(Conflict):
        runtime.attach(spec.uuid)
    with pytest.raises(Conflict):
        runtime.resize_tty(spec.uuid, 30, 100)


def test_terminals_of_a_missing_container_are_not_found(runtime: DockerRuntime) -> None:
    missing = str(uuidlib.uuid4())

    with pytest.raises(NotFound):
        runtime.exec_session(missing, ["sh"], tty=True)
    with pytest.raises(NotFound):
        runtime.open_exec(missing, "0" * 64)
    with pytest.raises(NotFound):
        runtime.exec_resize(missing, "0" * 64, 30, 100)
    with pytest.raises(NotFound):
        runtime.attach(missing)
    with pytest.raises(NotFound):
        runtime.resize_tty(missing, 30, 100)
