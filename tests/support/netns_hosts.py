"""Two compute hosts with network stacks of their own, on one machine.

Each host is a network namespace (``ip netns``) holding a Docker engine of its own
(started with ``nsenter --net``: ``ip netns exec`` would remount ``/sys`` and hide
the cgroups from dockerd), the agent that drives it, and one end of a veth pair
whose other end is the other host's: the underlay, ``198.19.211.1`` and ``.2``
(RFC 2544 benchmark range). A namespace's loopback is its own, so each carries a
forwarder from its ``127.0.0.1:<broker port>`` to the machine's broker.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker

from tests.conftest import TEST_IMAGE, require
from tests.support.private_engine import copy_image

UNDERLAY = "198.19.211"
CLONE_NEWNET = 0x40000000


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


def require_tools() -> None:
    require(os.geteuid() == 0, "!!! hosts in network namespaces need root")
    for tool in ("ip", "bridge", "nsenter", "dockerd", "nft"):
        require(shutil.which(tool) is not None, f"!!! {tool} is not installed")
    if not Path("/sys/module/vxlan").exists():
        run("modprobe", "vxlan", check=False)
    require(Path("/sys/module/vxlan").exists(), "!!! the kernel's vxlan module is not loaded")


@dataclass
class NetnsHost:
    """One namespace, its underlay address and its engine."""

    index: int
    run_id: str
    root: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def netns(self) -> str:
        return f"dyt-{self.run_id}-{self.index}"

    @property
    def address(self) -> str:
        return f"{UNDERLAY}.{self.index}"

    @property
    def run_dir(self) -> Path:
        return Path(f"/run/dyt-{self.run_id}-{self.index}")

    @property
    def url(self) -> str:
        return f"unix://{self.run_dir}/docker.sock"

    def ip(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("ip", "-n", self.netns, *argv, check=check)

    def enter(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("nsenter", f"--net=/run/netns/{self.netns}", *argv, check=check)

    def start_engine(self) -> None:
        self.ip("link", "set", "lo", "up")
        # The engine's default bridge, made beforehand (never --bridge none: NOTES-machine).
        self.ip("link", "add", "dytbr0", "type", "bridge")
        self.ip("addr", "add", f"172.31.{200 + self.index}.1/24", "dev", "dytbr0")
        self.ip("link", "set", "dytbr0", "up")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with (self.root / "dockerd.log").open("ab") as log:
            self.popen = subprocess.Popen(
                [
                    "nsenter", f"--net=/run/netns/{self.netns}", "dockerd",
                    "--data-root", str(self.root / "data"),
                    "--exec-root", str(self.run_dir / "exec"),
                    "-H", self.url,
                    "--pidfile", str(self.run_dir / "docker.pid"),
                    "--containerd-namespace", self.netns,
                    "--containerd-plugins-namespace", f"{self.netns}p",
                    "--bridge", "dytbr0",
                ],
                stdout=log,
                stderr=log,
            )  # fmt: skip

    def wait_engine(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(Exception):
                client = docker.APIClient(base_url=self.url, timeout=2)
                try:
                    client.ping()
                    return
                finally:
                    client.close()
            assert self.popen is not None and self.popen.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.2)

    def import_image(self) -> None:
        copy_image(TEST_IMAGE, self.url)

    def log(self) -> str:
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop_engine(self) -> None:
        with contextlib.suppress(Exception):
            client = docker.APIClient(base_url=self.url, timeout=30)
            for item in client.containers(all=True):
                with contextlib.suppress(Exception):
                    client.remove_container(item["Id"], force=True)
            client.close()
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for line in Path("/proc/mounts").read_text().splitlines():
            point = line.split()[1]
            if point.startswith((str(self.run_dir), str(self.root))):
                run("umount", "-l", point, check=False)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _in_netns(netns: str) -> None:
    """Move the calling thread into ``netns`` (the caller's thread must end after)."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/run/netns/{netns}") as target:
        if libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {netns}")


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@dataclass
class Forwarder:
    """``127.0.0.1:port`` inside a namespace, forwarded to ``127.0.0.1:port`` of this one."""

    netns: str
    port: int
    listener: socket.socket | None = None
    open: list[socket.socket] = field(default_factory=list)

    def start(self) -> None:
        made: list[socket.socket] = []
        failed: list[BaseException] = []

        def listen() -> None:  # in a thread of its own: setns changes only it
            try:
                _in_netns(self.netns)
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", self.port))
                sock.listen(64)
                made.append(sock)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failed.append(exc)

        thread = threading.Thread(target=listen)
        thread.start()
        thread.join()
        if failed:
            raise failed[0]
        self.listener = made[0]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):
            while True:
                inside, _ = self.listener.accept()
                try:
                    outside = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                except OSError:
                    inside.close()
                    continue
                outside.settimeout(None)
                self.open += [inside, outside]
                threading.Thread(target=_pump, args=(inside, outside), daemon=True).start()
                threading.Thread(target=_pump, args=(outside, inside), daemon=True).start()

    def stop(self) -> None:
        for sock in [*([self.listener] if self.listener else []), *self.open]:
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def two_hosts(root: Path, broker_port: int) -> Iterator[tuple[NetnsHost, NetnsHost]]:
    """Two namespaced hosts with running engines holding the test image; everything
    made (engines, mounts, links, namespaces) goes on exit, whatever happened."""
    require_tools()
    run_id = uuid.uuid4().hex[:6]
    hosts = (NetnsHost(1, run_id, root / "h1"), NetnsHost(2, run_id, root / "h2"))
    forwarders = [Forwarder(h.netns, broker_port) for h in hosts]
    try:
        for host in hosts:
            host.root.mkdir(parents=True, exist_ok=True)
            run("ip", "netns", "add", host.netns)
        one, two = hosts
        run("ip", "link", "add", f"dyt{run_id}a", "netns", one.netns, "type", "veth",
            "peer", "name", f"dyt{run_id}b", "netns", two.netns)  # fmt: skip
        for host, link in ((one, f"dyt{run_id}a"), (two, f"dyt{run_id}b")):
            host.ip("link", "set", link, "name", "under0")
            host.ip("addr", "add", f"{host.address}/24", "dev", "under0")
            host.ip("link", "set", "under0", "up")
        for host in hosts:
            host.start_engine()
        for host in hosts:
            host.wait_engine()
            host.import_image()
        for forwarder in forwarders:
            forwarder.start()
        yield hosts
    finally:
        for forwarder in forwarders:
            forwarder.stop()
        for host in hosts:
            host.stop_engine()
        for host in hosts:
            run("ip", "netns", "del", host.netns, check=False)
