"""End to end: the native `dockyard` CLI against `dockyard up` (own identity, real engine).

The tests in this module share one service and run in file order; each CLI
call is a real subprocess with no OS_* settings unless a test gives some.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import stat
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.domain.models import LABEL_CONTAINER_ID, LABEL_HOST
from tests.conftest import TEST_IMAGE
from tests.e2e.process import DOCKYARD, Instance, remove_volumes, stop
from tests.e2e.test_local_identity_cli import parse_openrc

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

MiB = 1024 * 1024
POLL = 0.3
#: The size of the test's pseudo-terminal, and BusyBox sh's prompt as root.
ROWS, COLS = 37, 111
PROMPT = r"/ # "
VERBS = [
    *("run", "create", "ps", "inspect", "logs", "exec", "attach", "start", "stop", "restart"),
    *("kill", "pause", "unpause", "wait", "rm", "stats", "top", "cp", "images", "pull", "login"),
    *("logout", "completion", "up"),
]


@dataclass
class Cli:
    instance: Instance
    admin: dict[str, str]
    home: Path
    docker: docker.DockerClient

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """No OS_* settings of the caller's; a config directory of the test's own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / "config"))
        return {**env, **(extra or {})}

    def call(
        self, *argv: str, stdin: str | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DOCKYARD), *argv], env=self.env(env), input=stdin, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip

    def ok(self, *argv: str, stdin: str | None = None, env: Mapping[str, str] | None = None) -> str:
        result = self.call(*argv, stdin=stdin, env=env)
        assert result.returncode == 0, f"{argv}: rc={result.returncode}\n{result.stderr}"
        return result.stdout

    @property
    def login_file(self) -> Path:
        return self.home / "config" / "dockyard" / "login.json"

    def login(self) -> None:
        url = self.admin["OS_AUTH_URL"]
        argv = ("login", url, "-u", "admin", "--project", "admin", "--password-stdin")
        self.ok(*argv, stdin=self.admin["OS_PASSWORD"] + "\n")

    def show(self, name: str) -> dict[str, Any]:
        [record] = json.loads(self.ok("inspect", name))
        return dict(record)

    def engine(self, container_uuid: str) -> Any:
        labels = [f"{LABEL_HOST}={self.instance.host}", f"{LABEL_CONTAINER_ID}={container_uuid}"]
        found = self.docker.containers.list(all=True, filters={"label": labels})
        return found[0] if found else None

    def wait_output(self, argv: tuple[str, ...], text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text not in (seen := self.ok(*argv)):
            assert time.monotonic() < deadline, f"{argv}: no {text!r} in {seen!r}"
            time.sleep(POLL)
        return seen


@pytest.fixture(scope="module")
def cli(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("dockyard-cli")
    instance = Instance.new(root, prefix="cli", auth_strategy=None, split_output=True)
    process = instance.start()
    try:
        admin = parse_openrc((instance.root / "data" / "admin-openrc").read_text())
        home = root / "home"
        home.mkdir()
        yield Cli(instance, admin, home, docker_client)
        assert stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        labels = {"label": f"{LABEL_HOST}={instance.host}"}
        for container in docker_client.containers.list(all=True, filters=labels):
            container.remove(force=True)
        remove_volumes(docker_client, instance)
        if instance.log.exists():
            tail = instance.log.read_text()[-4000:]
            sys.stderr.write(f"\n===== {instance.log.name} =====\n{tail}")


def test_help_lists_every_command_quietly_without_loading_the_service(cli: Cli) -> None:
    result = cli.call("--help")
    assert result.returncode == 0
    assert result.stderr == ""  # no deprecation warnings
    listed = re.findall(r"^    (\S+)\s", result.stdout, re.MULTILINE)
    assert listed == VERBS
    loaded = subprocess.run(
        [sys.executable, "-W", "error", "-c",
         "import sys; from dockyard.cmd.dockyard_command import main; main([]); "
         "print(sorted(m for m in sys.modules if m.split('.')[0] in "
         "('sqlalchemy', 'oslo_messaging', 'oslo_config', 'docker', 'requests', 'dockyard')"
         " and not m.startswith('dockyard.cli') and m not in ('dockyard', 'dockyard.cmd',"
         " 'dockyard.cmd.dockyard_command')))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert loaded.stdout.strip().splitlines()[-1] == "[]", loaded.stdout
    assert loaded.stderr == ""

    misuse = cli.call("ps", "--no-such-flag")
    assert misuse.returncode == 125
    assert "unrecognized arguments: --no-such-flag" in misuse.stderr
    not_logged_in = cli.call("ps")
    assert not_logged_in.returncode == 1
    assert "not logged in" in not_logged_in.stderr


def test_login_saves_a_token_and_never_the_password(cli: Cli) -> None:
    wrong = cli.call(
        "login", cli.admin["OS_AUTH_URL"], "-u", "admin", "--project", "admin",
        "--password-stdin", stdin="not-the-password\n",
    )  # fmt: skip
    assert wrong.returncode == 1
    assert "login refused" in wrong.stderr
    assert not cli.login_file.exists()

    cli.login()
    assert stat.S_IMODE(cli.login_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.login_file.parent.stat().st_mode) == 0o700
    text = cli.login_file.read_text()
    assert cli.admin["OS_PASSWORD"] not in text
    saved = json.loads(text)
    assert saved["endpoint"] == f"{cli.instance.url}/v1"
    assert saved["token"].startswith("dy1.")
    assert saved["user"] == "admin" and saved["project"] == "admin"
    assert cli.ok("ps", "-a").splitlines() == [
        "CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES"
    ]


def test_run_attached_streams_the_output_and_returns_the_exit_code(cli: Cli) -> None:
    result = cli.call("run", "--name", "say-hi", TEST_IMAGE, "sh", "-c", "echo hi; exit 3")
    assert result.returncode == 3, result.stderr
    assert result.stdout == "hi\n"
    assert cli.show("say-hi")["status"] == "Stopped"

    counted = cli.call(
        "run", "--rm", "--name", "counter", TEST_IMAGE,
        "sh", "-c", "for i in 1 2 3; do echo line-$i; sleep 1; done",
    )  # fmt: skip
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout == "line-1\nline-2\nline-3\n"
    gone = cli.call("inspect", "counter")
    assert gone.returncode == 1 and "No such container: counter" in gone.stderr

    missing = cli.call("run", "--name", "no-cmd", TEST_IMAGE, "no-such-command")
    assert missing.returncode == 127, (missing.stdout, missing.stderr)
    assert "executable file not found" in missing.stderr
    assert cli.call("rm", "no-cmd").returncode == 0
    removed = cli.call("run", "--rm", "--name", "no-cmd-rm", TEST_IMAGE, "no-such-command")
    assert removed.returncode == 127
    assert cli.call("inspect", "no-cmd-rm").returncode == 1


def test_detached_container_lifecycle(cli: Cli) -> None:
    started = cli.ok(
        "run", "-d", "--name", "web", "-m", "64m", "--cpus", "0.5", "-e", "GREETING=hello",
        "-l", "tier=front", "-p", "8080", TEST_IMAGE,
        "sh", "-c", "echo $GREETING-from-web; sleep 300",
    )  # fmt: skip
    container_uuid = started.strip()
    engine = cli.engine(container_uuid)
    assert engine.attrs["HostConfig"]["Memory"] == 64 * MiB
    assert engine.attrs["HostConfig"]["NanoCpus"] == 500_000_000

    short = container_uuid.replace("-", "")[:12]
    header, *lines = cli.ok("ps").splitlines()
    assert re.fullmatch(r"CONTAINER ID {3}IMAGE {3,}COMMAND {3,}CREATED {3,}STATUS {3,}"
                        r"PORTS {3,}NAMES", header), header  # fmt: skip
    [line] = [x for x in lines if x.endswith(" web")]
    assert line.startswith(short + "   " + TEST_IMAGE)
    assert line.index(" web") + 1 == header.index("NAMES")  # columns are aligned
    assert '"sh -c \'echo $GREETI…"' in line and "Up " in line
    assert line[header.index("PORTS") :].startswith("8080/tcp   ")
    assert "say-hi" not in cli.ok("ps") and "say-hi" in cli.ok("ps", "-a")
    assert cli.ok("ps", "-q", "--filter", "name=web") == short + "\n"
    assert cli.ok("ps", "-aq", "--filter", "status=exited").strip() != ""
    assert cli.ok("ps", "-q", "--filter", "label=tier=front") == short + "\n"
    records = [json.loads(x) for x in cli.ok("ps", "--format", "json").splitlines()]
    assert [r["uuid"] for r in records if r["name"] == "web"] == [container_uuid]
    assert cli.ok("ps", "--format", "{{.Names}}:{{.State}}") == "web:running\n"

    cli.wait_output(("logs", "web"), "hello-from-web")
    assert cli.ok("exec", "web", "sh", "-c", "echo $GREETING") == "hello\n"
    failing = cli.call("exec", short, "sh", "-c", "echo oops; exit 4")
    assert failing.returncode == 4 and failing.stdout == "oops\n"

    [record] = json.loads(cli.ok("inspect", "web"))
    assert record["uuid"] == container_uuid and record["memory"] == "64"
    assert record["ports"] == [8080]
    assert record["environment"] == {"GREETING": "hello"}
    assert cli.ok("inspect", "-f", "{{.Names}} {{.Status}}", "web").startswith("web Up ")

    top = cli.ok("top", "web")
    assert top.split()[:2] == ["UID", "PID"] and "sleep 300" in top
    stats = cli.ok("stats", "--no-stream", "web").splitlines()
    assert stats[0].split()[:3] == ["CONTAINER", "ID", "NAME"]
    assert stats[1].startswith(short) and "/ 64MiB" in stats[1]

    assert cli.ok("stop", "-t", "1", "web") == "web\n"
    assert cli.show("web")["status"] == "Stopped"
    assert not cli.engine(container_uuid).attrs["State"]["Running"]
    assert "Exited (137)" in cli.ok("ps", "-a", "--filter", "name=web")
    assert cli.ok("start", "web") == "web\n"
    assert cli.engine(container_uuid).attrs["State"]["Running"]
    assert cli.ok("restart", "-t", "1", "web") == "web\n"
    assert cli.show("web")["status"] == "Running"
    assert cli.ok("pause", "web") == "web\n"
    assert cli.show("web")["status"] == "Paused"
    assert cli.engine(container_uuid).attrs["State"]["Paused"]
    assert cli.ok("unpause", "web") == "web\n"
    assert cli.show("web")["status"] == "Running"
    assert cli.ok("kill", "web") == "web\n"
    assert not cli.engine(container_uuid).attrs["State"]["Running"]
    cli.wait_output(("ps", "-a", "--filter", "name=web"), "Exited (137)")
    assert cli.ok("start", "web") == "web\n"

    refused = cli.call("rm", "web")
    assert refused.returncode == 1 and "Error response from server" in refused.stderr
    assert cli.ok("rm", "-f", "web", "say-hi") == "web\nsay-hi\n"
    assert cli.engine(container_uuid) is None
    assert cli.ok("ps", "-aq") == ""


def test_create_with_a_restart_policy_then_start(cli: Cli) -> None:
    made = cli.ok(
        "create", "--name", "made", "--restart", "on-failure:2", TEST_IMAGE,
        "sh", "-c", "echo started; exit 0",
    ).strip()  # fmt: skip
    assert cli.show("made")["status"] == "Created"
    policy = cli.engine(made).attrs["HostConfig"]["RestartPolicy"]
    assert policy == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert cli.show("made")["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": "2"}
    assert cli.ok("start", "made") == "made\n"
    assert cli.ok("wait", "made") == "0\n"
    assert cli.ok("logs", "made") == "started\n"
    cli.ok("rm", "made")


def test_logs_follow_until_the_container_exits(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "ticker", TEST_IMAGE,
           "sh", "-c", "sleep 2; for i in 1 2 3 4; do echo tick-$i; sleep 1; done")  # fmt: skip
    followed = cli.call("logs", "-f", "ticker")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout == "tick-1\ntick-2\ntick-3\ntick-4\n"
    assert cli.ok("wait", "ticker") == "0\n"
    stamped = cli.ok("logs", "-t", "--tail", "1", "ticker")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\S+Z tick-4\n", stamped), stamped
    cli.ok("rm", "ticker")


def test_cp_both_ways(cli: Cli, tmp_path: Path) -> None:
    cli.ok("run", "-d", "--name", "files", TEST_IMAGE, "sleep", "300")
    local = tmp_path / "note.txt"
    local.write_text("copied-in\n")
    cli.ok("cp", str(local), "files:/tmp/")
    cli.ok("cp", str(local), "files:/tmp/renamed.txt")
    assert cli.ok("exec", "files", "cat", "/tmp/note.txt", "/tmp/renamed.txt") == (
        "copied-in\ncopied-in\n"
    )
    cli.ok("exec", "files", "sh", "-c", "mkdir /tmp/d && echo inner > /tmp/d/inner.txt")
    cli.ok("cp", "files:/tmp/d", str(tmp_path / "fetched"))
    assert (tmp_path / "fetched" / "inner.txt").read_text() == "inner\n"
    cli.ok("cp", "files:/tmp/note.txt", str(tmp_path))
    cli.ok("cp", "files:/etc/hostname", str(tmp_path / "host-name"))
    assert (tmp_path / "host-name").read_text().strip() != ""
    missing = cli.call("cp", "files:/no/such/file", str(tmp_path))
    assert missing.returncode == 1 and "Error response from server" in missing.stderr
    cli.ok("rm", "-f", "files")


class Terminal:
    """A `dockyard` command on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, cli: Cli, *argv: str) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.process = subprocess.Popen(
            [str(DOCKYARD), *argv], stdin=slave, stdout=slave, stderr=slave, env=cli.env(),
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
            if not ready:
                continue
            try:
                got = os.read(self.master, 4096).decode(errors="replace")
            except OSError:  # the command ended and closed the terminal
                assert re.search(pattern, self.seen), f"no {pattern!r}: {self.seen!r}"
                return
            self.seen += got
            if "\x1b[6n" in got:
                self.type("\x1b[1;1R")  # answer the line editor's cursor query

    def finished(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            os.close(self.master)


def test_exec_it_and_run_it_on_a_terminal(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "box", TEST_IMAGE, "sleep", "300")
    shell = Terminal(cli, "exec", "-it", "box", "sh")
    shell.expect(PROMPT)
    shell.type("echo in-$((6*7))-exec\r")
    shell.expect("in-42-exec")
    shell.type("stty size\r")
    shell.expect(f"{ROWS} {COLS}")
    shell.type("exit\r")
    assert shell.finished() == 0, shell.seen

    session = Terminal(cli, "run", "-it", "--name", "tty-run", TEST_IMAGE, "sh")
    session.type("\r")  # the shell may have printed its prompt before we attached
    session.expect(PROMPT)
    session.type("echo run-$((5*5))-it\r")
    session.expect("run-25-it")
    session.type("exit 5\r")
    assert session.finished() == 5, session.seen
    assert cli.show("tty-run")["status"] == "Stopped"
    cli.ok("rm", "-f", "box", "tty-run")


def test_attach_detach_and_reattach(cli: Cli) -> None:
    cli.ok("run", "-d", "-it", "--name", "term", TEST_IMAGE, "sh")
    attached = Terminal(cli, "attach", "term")
    attached.type("\r")  # the shell printed its prompt before we attached: ask again
    attached.expect(PROMPT)
    attached.type("echo at-$((5*5))-tach\r")
    # Read up to the shell's next cursor query (answered as it is read): a query left
    # unanswered would make the shell take the next attach's keys for its answer.
    attached.expect(r"at-25-tach\r\n/ # \x1b\[6n")
    attached.type("\x10\x11")  # Ctrl-P Ctrl-Q
    assert attached.finished() == 0, attached.seen
    assert cli.show("term")["status"] == "Running"

    again = Terminal(cli, "attach", "term")
    again.type("echo again-$((3*3))\r")
    again.expect("again-9")
    again.type("exit 7\r")
    assert again.finished() == 7, again.seen
    assert cli.show("term")["status"] == "Stopped"
    refused = cli.call("attach", "term")
    assert refused.returncode == 1 and "Error response from server" in refused.stderr
    cli.ok("rm", "term")


def test_pull_and_images_over_the_images_api(cli: Cli) -> None:
    """`dockyard pull` of a tag new to the engine, then `dockyard images` lists it."""
    if not cli.login_file.exists():
        cli.login()
    source = cli.docker.images.get(TEST_IMAGE)
    repo = f"127.0.0.1:5001/dockyard-test/cli-{os.getpid()}-{int(time.time())}"
    for tag in ("v1", "v2"):
        source.tag(repo, tag)
        try:
            for line in cli.docker.api.push(repo, tag=tag, stream=True, decode=True):
                assert "error" not in line, line
        finally:
            cli.docker.images.remove(f"{repo}:{tag}")
    deadline = time.monotonic() + 30
    while repo in cli.ok("images"):  # the sync drops the record of the removed tag
        assert time.monotonic() < deadline
        time.sleep(POLL)
    pulled = cli.ok("pull", f"{repo}:v1")
    assert pulled.startswith(f"{repo}:v1: pulled on {cli.instance.host}\nDigest: sha256:")
    assert cli.docker.images.get(f"{repo}:v1").id == source.id
    listed = cli.ok("images", repo)
    assert re.search(rf"^{re.escape(repo)}\s+v1\s+{source.id[7:19]}\s", listed, re.MULTILINE)
    again = cli.ok("pull", f"{repo}:v1")
    assert again == f"Status: Image is up to date for {repo}:v1 on {cli.instance.host}\n"

    # On a terminal the pull draws a live line (a spinner until the host reports sizes,
    # then the bar: images.progress_line), rewritten in place and cleared at the end.
    shown = Terminal(cli, "pull", f"{repo}:v2")
    shown.expect("Digest: sha256:")
    assert shown.finished() == 0, shown.seen
    lines = re.findall(rf"\r\x1b\[K{re.escape(repo)}:v2: ([^\r]*)", shown.seen)
    live = [x for x in lines if not x.startswith("pulled on ")]
    assert live, shown.seen
    assert all(re.fullmatch(r"[|/\\-] waiting for the registry \(\d+s\)|\[[=> ]{30}\] .+ layers", x)
               for x in live), live  # fmt: skip
    assert f"\r\x1b[K{repo}:v2: pulled on {cli.instance.host}" in shown.seen
    for tag in ("v1", "v2"):
        cli.docker.images.remove(f"{repo}:{tag}")


def test_run_on_a_named_network_gets_an_address_there(cli: Cli) -> None:
    # The project's own network, made by the first run without --net.
    cli.ok("run", "--rm", TEST_IMAGE, "true")
    cli.ok("run", "-d", "--name", "on-net", "--net", "private", TEST_IMAGE, "sleep", "300")
    [record] = json.loads(cli.ok("inspect", "on-net"))
    [(network, [address])] = record["addresses"].items()
    shown = cli.ok("exec", "on-net", "ip", "-4", "-o", "addr")
    assert address["addr"] in shown, (address, shown)
    cli.ok("rm", "-f", "on-net")


def admin_volumes(cli: Cli) -> tuple[requests.Session, str]:
    """A session holding an admin token, and the admin project's block-storage volumes URL."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "admin", "domain": {"id": "default"},
                             "password": cli.admin["OS_PASSWORD"]},
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }  # fmt: skip
    reply = requests.post(f"{cli.admin['OS_AUTH_URL']}/auth/tokens", json=body, timeout=30)
    assert reply.status_code == 201, reply.text
    session = requests.Session()
    session.headers["X-Auth-Token"] = reply.headers["X-Subject-Token"]
    project = reply.json()["token"]["project"]["id"]
    return session, f"{cli.instance.url}/volume/v3/{project}/volumes"


def volume_status(session: requests.Session, volumes: str, volume_id: str) -> str | None:
    reply = session.get(f"{volumes}/{volume_id}", timeout=30)
    if reply.status_code == 404:
        return None
    assert reply.status_code == 200, reply.text
    return str(reply.json()["volume"]["status"])


def test_run_with_a_named_volume_keeps_its_data_for_the_next_container(cli: Cli) -> None:
    session, volumes = admin_volumes(cli)
    made = session.post(volumes, json={"volume": {"name": "cli-data", "size": 1}}, timeout=30)
    assert made.status_code == 202, made.text
    volume_id = made.json()["volume"]["id"]

    wrote = cli.call("run", "--rm", "-v", "cli-data:/data", TEST_IMAGE,
                     "sh", "-c", "echo kept > /data/note && df -k /data | tail -n 1")  # fmt: skip
    assert wrote.returncode == 0, wrote.stderr
    size_kib = int(wrote.stdout.split()[1])
    assert 900_000 < size_kib <= 1024 * 1024, wrote.stdout  # its own 1 GiB filesystem
    assert volume_status(session, volumes, volume_id) == "available"

    held = cli.ok("run", "-d", "--name", "holder", "-v", "cli-data:/data", TEST_IMAGE,
                  "sleep", "300").strip()  # fmt: skip
    mounts = cli.engine(held).attrs["Mounts"]
    assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", "/data")], mounts
    assert cli.ok("exec", "holder", "cat", "/data/note") == "kept\n"
    assert volume_status(session, volumes, volume_id) == "in-use"
    refused = cli.call("run", "-v", "cli-data:/again", TEST_IMAGE, "true")
    assert refused.returncode == 125, refused
    assert f"is in use by {held}" in refused.stderr, refused.stderr
    in_use = session.delete(f"{volumes}/{volume_id}", timeout=30)
    assert in_use.status_code == 409, in_use.text

    cli.ok("rm", "-f", "holder")
    deadline = time.monotonic() + 60
    while volume_status(session, volumes, volume_id) != "available":
        assert time.monotonic() < deadline, "the volume stayed attached"
        time.sleep(POLL)
    assert session.delete(f"{volumes}/{volume_id}", timeout=30).status_code == 202
    while volume_status(session, volumes, volume_id) is not None:
        assert time.monotonic() < deadline + 30, "the volume was not removed"
        time.sleep(POLL)


def test_refusals_are_passed_through_with_dockers_exit_codes(cli: Cli) -> None:
    absent = cli.call("stop", "no-such-box")
    assert absent.returncode == 1
    assert absent.stderr == "Error response from server: No such container: no-such-box\n"
    for flags in (("--net", "no-such-net"), ("-v", "vol1:/data")):
        refused = cli.call("run", *flags, TEST_IMAGE, "true")
        assert refused.returncode == 125, refused
        assert refused.stderr.startswith("Error response from server: "), refused.stderr
    bad_memory = cli.call("run", "-m", "64", TEST_IMAGE, "true")
    assert bad_memory.returncode == 125 and "write 64m" in bad_memory.stderr
    missing = cli.call("pull", "127.0.0.1:5001/dockyard-test/no-such-image:1")
    assert missing.returncode == 1
    assert "failed: image '127.0.0.1:5001/dockyard-test/no-such-image:1' was not found" in (
        missing.stderr
    ), missing.stderr
    assert cli.ok("ps", "-aq") == ""


def test_os_settings_and_clouds_yaml_work_without_a_login(cli: Cli) -> None:
    assert cli.ok("logout").startswith("Removing login credentials")
    assert not cli.login_file.exists()
    assert cli.call("ps").returncode == 1

    assert cli.ok("ps", env=cli.admin).startswith("CONTAINER ID")
    clouds = cli.home / "config" / "openstack" / "clouds.yaml"
    clouds.parent.mkdir(parents=True)
    auth = {
        "auth_url": cli.admin["OS_AUTH_URL"], "username": "admin", "project_name": "admin",
        "password": cli.admin["OS_PASSWORD"], "user_domain_name": "Default",
        "project_domain_name": "Default",
    }  # fmt: skip
    clouds.write_text(json.dumps({"clouds": {"local": {"auth": auth}}}))  # JSON is YAML
    assert cli.ok("--os-cloud", "local", "ps").startswith("CONTAINER ID")
    assert cli.ok("ps", env={"OS_CLOUD": "local"}).startswith("CONTAINER ID")
    unknown = cli.call("--os-cloud", "elsewhere", "ps")
    assert unknown.returncode == 1 and "'elsewhere' is not defined" in unknown.stderr


def test_logout_revokes_the_saved_token(cli: Cli) -> None:
    cli.login()
    token = json.loads(cli.login_file.read_text())["token"]
    url = f"{cli.instance.url}/v1/containers"
    assert requests.get(url, headers={"X-Auth-Token": token}, timeout=10).status_code == 200
    cli.ok("logout")
    assert requests.get(url, headers={"X-Auth-Token": token}, timeout=10).status_code == 401
    # A saved token the server no longer accepts is reported with what to do.
    cli.login_file.parent.mkdir(exist_ok=True)
    cli.login_file.write_text(json.dumps({"endpoint": f"{cli.instance.url}/v1", "token": token}))
    stale = cli.call("ps")
    assert stale.returncode == 1 and "log in again with `dockyard login`" in stale.stderr


#: Completes ``WORDS`` with the bash script as bash itself would (compgen and all).
BASH_COMPLETE = """
source <(dockyard completion bash)
COMP_WORDS=($WORDS); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
[[ "$WORDS" == *" " ]] && { COMP_WORDS+=(""); COMP_CWORD=$(( COMP_CWORD + 1 )); }
_dockyard; printf '%s\\n' "${COMPREPLY[@]}"
"""
#: The zsh script's function with compsys' compadd (which keeps the words matching the one
#: being completed), compdef and _files stood in for; extendedglob on, as compsys has it.
ZSH_COMPLETE = """
setopt extendedglob
compdef() { : }; _files() { print -- '<files>' }
compadd() {
    shift; local w; for w in "$@"; do [[ $w == ${words[CURRENT]}* ]] && print -- $w; done; true
}
source <(dockyard completion zsh)
words=(${(z)WORDS}); [[ "$WORDS" == *" " ]] && words+=(""); CURRENT=${#words}
_dockyard
"""


def completed(cli: Cli, shell: str, words: str) -> list[str]:
    script = BASH_COMPLETE if shell == "bash" else ZSH_COMPLETE
    path = f"{DOCKYARD.parent}:{os.environ['PATH']}"
    result = subprocess.run([shell, "-c", script], env=cli.env({"WORDS": words, "PATH": path}),
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0 and result.stderr == "", (shell, words, result)
    return result.stdout.split()


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_completes_verbs_flags_and_container_names(cli: Cli, shell: str) -> None:
    listed = cli.call("ps", "-a")
    if listed.returncode != 0:  # logged out by an earlier test
        cli.login()
        listed = cli.call("ps", "-a")
    if "completer" not in listed.stdout:
        cli.ok("run", "-d", "--name", "completer", TEST_IMAGE, "sleep", "300")
    assert set(completed(cli, shell, "dockyard ")) >= set(VERBS)
    assert completed(cli, shell, "dockyard r") == ["run", "restart", "rm"]
    assert "--name" in completed(cli, shell, "dockyard run --n")
    assert "--filter" in completed(cli, shell, "dockyard ps --")
    assert "completer" in completed(cli, shell, "dockyard logs ")
    assert completed(cli, shell, "dockyard completion ") == ["bash", "zsh"]


def test_completion_scripts_name_every_command(cli: Cli) -> None:
    for shell in ("bash", "zsh"):
        script = cli.ok("completion", shell)
        for verb in VERBS:
            assert verb in script
    checked = subprocess.run(["bash", "-n"], input=cli.ok("completion", "bash"), text=True,
                             capture_output=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
