"""End to end: `dockyard up` as a subprocess, driven by `openstack appcontainer ...`.

The tests in this module share one service and run in file order.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.domain.models import LABEL_CONTAINER_ID, LABEL_HOST
from tests.conftest import TEST_IMAGE
from tests.e2e.process import Instance, stop

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

OPENSTACK = Path(sys.executable).parent / "openstack"
# Commands that accept `-f json`; it must come before positional arguments, since
# `run`/`create` pass everything after the image to the container as its command.
JSON_COMMANDS = {"run", "create", "show", "list"}
POLL = 0.2
MiB = 1024 * 1024


@dataclass
class Service:
    endpoint: str
    host: str
    log: Path
    docker: docker.DockerClient

    def osc(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `openstack <args>` against the service (`-f json` added where supported)."""
        argv = list(args)
        if len(argv) >= 2 and argv[0] == "appcontainer" and argv[1] in JSON_COMMANDS:
            argv[2:2] = ["-f", "json"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        command = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", self.endpoint]
        return subprocess.run(
            command + argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; the CLI can report failure with exit code 0."""
        result = self.osc(*args)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{args}: rc={result.returncode}\n{output}"
        assert "failed" not in output, f"{args}:\n{output}"
        assert "ERROR" not in output, f"{args}:\n{output}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args))

    def show(self, name: str) -> dict[str, Any]:
        return dict(self.json("appcontainer", "show", name))

    def names(self) -> list[str]:
        return [c["name"] for c in self.json("appcontainer", "list")]

    def wait_status(self, name: str, status: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            current = self.show(name)
            if current["status"] == status and current["task_state"] is None:
                return current
            assert time.monotonic() < deadline, (
                f"{name} stayed {current['status']}/{current['task_state']}, wanted {status}"
            )
            time.sleep(POLL)

    def wait_deleted(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while name in self.names():
            assert time.monotonic() < deadline, f"{name} is still listed"
            time.sleep(POLL)
        result = self.osc("appcontainer", "show", name)
        assert result.returncode != 0, result.stdout
        assert "could not be found" in result.stderr, result.stderr

    def engine_containers(self, container_uuid: str | None = None) -> list[Any]:
        labels = [f"{LABEL_HOST}={self.host}"]
        if container_uuid is not None:
            labels.append(f"{LABEL_CONTAINER_ID}={container_uuid}")
        return list(self.docker.containers.list(all=True, filters={"label": labels}))

    def wait_engine_empty(self, container_uuid: str | None = None, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while leftover := self.engine_containers(container_uuid):
            assert time.monotonic() < deadline, f"engine still has {[c.name for c in leftover]}"
            time.sleep(POLL)


def _report_log(request: pytest.FixtureRequest, log: Path) -> None:
    text = f"\n===== dockyard up log ({log}) =====\n{log.read_text(errors='replace')}"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(text)
    else:
        print(text)


@pytest.fixture(scope="module")
def service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[Service]:
    instance = Instance.new(tmp_path_factory.mktemp("dockyard-e2e"))
    host, log = instance.host, instance.log
    failures_before = request.session.testsfailed
    process = instance.start()
    clean = False
    try:
        yield Service(f"{instance.url}/v1", host, log, docker_client)
        code = stop(process)
        assert code == 0, f"dockyard up exited with {code} after SIGTERM (None: still running)"
        clean = True
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for container in docker_client.containers.list(
            all=True, filters={"label": f"{LABEL_HOST}={host}"}
        ):
            container.remove(force=True)
        if not clean or request.session.testsfailed > failures_before:
            _report_log(request, log)


def test_container_lifecycle(service: Service) -> None:
    created = service.json(
        "appcontainer", "run", "--name", "e2e-web", "--memory", "64", "--cpu", "0.5",
        TEST_IMAGE, "sh", "-c", "echo hello-from-dockyard; sleep 300",
    )  # fmt: skip
    assert created["name"] == "e2e-web"
    container_uuid = created["uuid"]

    shown = service.wait_status("e2e-web", "Running")
    assert shown["uuid"] == container_uuid
    assert shown["name"] == "e2e-web"
    assert shown["image"] == TEST_IMAGE
    assert shown["memory"] == "64"
    assert shown["cpu"] == 0.5
    assert shown["host"] == service.host
    assert shown["command"] == ["sh", "-c", "echo hello-from-dockyard; sleep 300"]

    listed = {c["name"]: c for c in service.json("appcontainer", "list")}
    assert listed["e2e-web"]["uuid"] == container_uuid
    assert listed["e2e-web"]["status"] == "Running"

    # The limits really reach the Docker Engine.
    [engine] = service.engine_containers(container_uuid)
    host_config = engine.attrs["HostConfig"]
    assert host_config["Memory"] == 64 * MiB
    assert host_config["NanoCpus"] == 500_000_000
    assert engine.attrs["State"]["Running"] is True

    deadline = time.monotonic() + 10
    while "hello-from-dockyard" not in (logs := service.ok("appcontainer", "logs", "e2e-web")):
        assert time.monotonic() < deadline, f"logs: {logs!r}"
        time.sleep(POLL)

    assert service.ok("appcontainer", "exec", "e2e-web", "echo", "exec-ok").strip() == "exec-ok"
    # The CLI prints the command's output (stdout and stderr merged) and exits with its code.
    failing = service.osc(
        "appcontainer", "exec", "e2e-web", "sh", "-c", "echo to-stderr >&2; exit 3"
    )
    assert failing.returncode == 3, failing
    assert failing.stdout.strip() == "to-stderr", failing

    # `sh` as PID 1 ignores SIGTERM; a short timeout keeps the stop from waiting 10 s.
    assert "accepted" in service.ok("appcontainer", "stop", "--timeout", "1", "e2e-web")
    service.wait_status("e2e-web", "Stopped")
    assert service.engine_containers(container_uuid)[0].attrs["State"]["Running"] is False

    assert "accepted" in service.ok("appcontainer", "start", "e2e-web")
    service.wait_status("e2e-web", "Running")

    assert "accepted" in service.ok("appcontainer", "pause", "e2e-web")
    service.wait_status("e2e-web", "Paused")
    assert service.engine_containers(container_uuid)[0].attrs["State"]["Paused"] is True

    assert "accepted" in service.ok("appcontainer", "unpause", "e2e-web")
    service.wait_status("e2e-web", "Running")

    assert "accepted" in service.ok("appcontainer", "kill", "e2e-web", "--signal", "SIGKILL")
    service.wait_status("e2e-web", "Stopped")
    state = service.engine_containers(container_uuid)[0].attrs["State"]
    assert state["Running"] is False
    assert state["ExitCode"] == 137

    assert "accepted" in service.ok("appcontainer", "delete", "e2e-web")
    service.wait_deleted("e2e-web")
    service.wait_engine_empty()


def test_create_without_run(service: Service) -> None:
    created = service.json(
        "appcontainer", "create", "--name", "e2e-created", TEST_IMAGE, "sleep", "300"
    )
    shown = service.wait_status("e2e-created", "Created")
    assert shown["uuid"] == created["uuid"]
    [engine] = service.engine_containers(created["uuid"])
    assert engine.status == "created"

    assert "accepted" in service.ok("appcontainer", "delete", "e2e-created")
    service.wait_deleted("e2e-created")
    service.wait_engine_empty(created["uuid"])


def test_delete_running_container(service: Service) -> None:
    # A command that exits on SIGTERM, so that `delete --stop` does not wait for SIGKILL.
    graceful = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
    service.json("appcontainer", "run", "--name", "e2e-stop", TEST_IMAGE, *graceful)
    service.json("appcontainer", "run", "--name", "e2e-force", TEST_IMAGE, "sleep", "300")
    stop_uuid = service.wait_status("e2e-stop", "Running")["uuid"]
    force_uuid = service.wait_status("e2e-force", "Running")["uuid"]

    refused = service.osc("appcontainer", "delete", "e2e-stop")
    assert refused.returncode == 0  # the CLI reports the failure in its output only
    assert "Delete for container e2e-stop failed" in refused.stdout + refused.stderr
    assert "(HTTP 409)" in refused.stdout + refused.stderr
    assert service.show("e2e-stop")["status"] == "Running"

    assert "accepted" in service.ok("appcontainer", "delete", "--stop", "e2e-stop")
    assert "accepted" in service.ok("appcontainer", "delete", "--force", "e2e-force")
    service.wait_deleted("e2e-stop")
    service.wait_deleted("e2e-force")
    service.wait_engine_empty(stop_uuid)
    service.wait_engine_empty(force_uuid)
    service.wait_engine_empty()


#: The size of the test's pseudo-terminal.
ROWS, COLS = 41, 123
#: BusyBox sh's prompt as root.
PROMPT = r"/ # "


class Terminal:
    """An `openstack` command on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, service: Service, *args: str) -> None:
        self.master, slave = pty.openpty()
        # The CLI sends its terminal's size to the API (resize / execute_resize).
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        command = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", service.endpoint]
        self.process = subprocess.Popen(
            command + list(args), stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.seen = ""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def expect(self, pattern: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} on the terminal: {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    got = os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the command ended and closed the terminal
                    assert re.search(pattern, self.seen), f"no {pattern!r}: {self.seen!r}"
                    return
                self.seen += got
                if "\x1b[6n" in got:
                    # The shell's line editor asks where the cursor is, as a terminal
                    # emulator would answer.
                    self.type("\x1b[1;1R")

    def finished(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            os.close(self.master)


def test_interactive_exec_and_attach_on_a_terminal(service: Service) -> None:
    service.ok("appcontainer", "run", "--name", "box", TEST_IMAGE, "sleep", "300")
    service.wait_status("box", "Running")
    shell = Terminal(service, "appcontainer", "exec", "--interactive", "box", "sh")
    shell.expect("connected to")
    shell.expect(PROMPT)
    # The CLI puts the terminal in raw mode: Enter is a carriage return.
    shell.type("echo in-$((6*7))-exec\r")
    shell.expect("in-42-exec")
    shell.type("stty size\r")
    shell.expect(f"{ROWS} {COLS}")
    shell.type("exit\r")
    assert shell.finished() == 0, shell.seen

    # (`run --interactive` would attach at once; create and start keep it a separate step.)
    service.ok("appcontainer", "create", "--interactive", "--name", "term", TEST_IMAGE, "sh")
    service.wait_status("term", "Created")
    service.ok("appcontainer", "start", "term")
    service.wait_status("term", "Running")
    attached = Terminal(service, "appcontainer", "attach", "term")
    attached.expect("connected to")
    attached.type("\r")  # the shell started before we attached: ask for a new prompt
    attached.expect(PROMPT)
    attached.type("echo at-$((5*5))-tach\r")
    attached.expect("at-25-tach")
    attached.type("stty size\r")
    attached.expect(f"{ROWS} {COLS}")
    # The shell is the container's main process: leaving it stops the container,
    # and the CLI ends with the session.
    attached.type("exit\r")
    assert attached.finished() == 0, attached.seen
    service.wait_status("term", "Stopped")
    service.ok("appcontainer", "delete", "--force", "box")
    service.ok("appcontainer", "delete", "--force", "term")
    service.wait_deleted("box")
    service.wait_deleted("term")
