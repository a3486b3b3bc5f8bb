"""Interactive sessions: exec sessions, attach, TTY sizes."""

from __future__ import annotations

import re
import threading
import uuid as uuidlib
from collections.abc import Callable

import docker
import pytest

from dockyard.domain.errors import Conflict, NotFound
from dockyard.domain.models import ContainerSpec
from dockyard.domain.states import Status
from dockyard.drivers.runtime.base import RuntimeDriver
from tests.contract.runtime.support import (
    REAL_PROCESS,
    Factory,
    Terminals,
    engine_only,
    wait_for_status,
)

# --- terminals ------------------------------------------------------------------------------


# The shell expands $((6*7)); a TTY echoing the input back shows only the unexpanded text.
MARKER_COMMAND = "echo marker-$((6*7))"
BOTH_STREAMS = "echo out-$((6*7)); echo err-$((6*7)) >&2"


def lines_of(output: bytes) -> list[bytes]:
    return sorted(line.strip() for line in output.splitlines() if line.strip())


@engine_only(REAL_PROCESS)
@pytest.mark.parametrize("tty", [True, False], ids=["tty", "no-tty"])
def test_exec_session_runs_a_shell_until_its_exit(
    docker_client: docker.DockerClient,
    runtime: RuntimeDriver,
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
    assert docker_client.api.exec_inspect(exec_id)["ExitCode"] == 3
    assert b"\x00" not in shell.output  # no frame headers
    assert runtime.inspect(running.uuid).status is Status.RUNNING


@engine_only(REAL_PROCESS)
def test_exec_without_tty_is_demultiplexed(
    runtime: RuntimeDriver, running: ContainerSpec, terminals: Terminals
) -> None:
    shell = terminals(
        runtime.open_exec(running.uuid, runtime.exec_session(running.uuid, ["sh"], False))
    )

    output = shell.run(BOTH_STREAMS, b"out-42", b"err-42")

    assert lines_of(output) == [b"err-42", b"out-42"]
    assert b"\x00" not in output  # no frame headers


@engine_only(REAL_PROCESS)
def test_exec_resize_sets_the_tty_size(
    runtime: RuntimeDriver, running: ContainerSpec, terminals: Terminals
) -> None:
    exec_id = runtime.exec_session(running.uuid, ["sh"], tty=True)
    shell = terminals(runtime.open_exec(running.uuid, exec_id))

    runtime.exec_resize(running.uuid, exec_id, 37, 113)

    shell.run("stty size", b"37 113")


def test_close_wakes_a_blocked_read(runtime: RuntimeDriver, running: ContainerSpec) -> None:
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


@engine_only(REAL_PROCESS)
@pytest.mark.parametrize("tty", [True, False], ids=["tty", "no-tty"])
def test_attach_runs_commands_and_detaching_leaves_the_container_running(
    runtime: RuntimeDriver,
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
    runtime: RuntimeDriver,
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


@engine_only(REAL_PROCESS)
def test_attach_without_tty_is_demultiplexed(
    runtime: RuntimeDriver, make_shell: Callable[[bool], ContainerSpec], terminals: Terminals
) -> None:
    spec = make_shell(False)
    shell = terminals(runtime.attach(spec.uuid))

    output = shell.run(BOTH_STREAMS, b"out-42", b"err-42")

    assert lines_of(output) == [b"err-42", b"out-42"]
    assert b"\x00" not in output  # no frame headers


@engine_only(REAL_PROCESS)
def test_resize_tty_sets_the_size(
    runtime: RuntimeDriver, make_shell: Callable[[bool], ContainerSpec], terminals: Terminals
) -> None:
    spec = make_shell(True)

    runtime.resize_tty(spec.uuid, 37, 113)

    terminals(runtime.attach(spec.uuid)).run("stty size", b"37 113")


def test_exec_belongs_to_its_container(
    runtime: RuntimeDriver, make_container: Factory, terminals: Terminals
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
    terminals(runtime.open_exec(owner.uuid, exec_id))


def test_an_exec_starts_only_once(
    runtime: RuntimeDriver, running: ContainerSpec, terminals: Terminals
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
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.exec_session(spec.uuid, ["sh"], tty=True)
    with pytest.raises(Conflict):
        runtime.attach(spec.uuid)
    with pytest.raises(Conflict):
        runtime.resize_tty(spec.uuid, 30, 100)


def test_terminals_of_a_missing_container_are_not_found(runtime: RuntimeDriver) -> None:
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
