"""A Docker engine of one test's own, that the test may SIGKILL and fill up.

The fault suite cannot kill the machine's engines: other tests drive them. This one
is started with the flags of scripts/ensure-engines.sh, on its own bridge and subnet
(slot 9, the fault suite's: ``dyk-br9``, 172.31.9.0/24; ensure-engines.sh numbers its
engines from 1 up, and other suites take slots of their own below 9), its own
containerd namespace, and a data root on a loop-mounted ext4 file of
``disk_mib``, so that a pull larger than what is left fills the disk of this engine
and of nothing else. The test image is imported from the main engine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker

from tests.conftest import TEST_IMAGE, require

#: The fault suite's slot; other suites take another, so that both may run at once.
SLOT = 9


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


def _kill_and_wait(pid: int, timeout: float = 15) -> None:
    """SIGKILL ``pid`` and wait until it is gone (it is not our child: poll /proc)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


@dataclass
class PrivateEngine:
    root: Path
    disk_mib: int
    popen: subprocess.Popen[bytes] | None = None
    #: Numbers the bridge (``dyk-br<slot>``), subnet (172.31.<slot>.0/24), run
    #: directory and containerd namespaces: engines of different slots never meet.
    slot: int = SLOT

    @property
    def bridge(self) -> str:
        return f"dyk-br{self.slot}"

    @property
    def subnet(self) -> str:
        return f"172.31.{self.slot}.0/24"

    @property
    def address(self) -> str:
        return f"172.31.{self.slot}.1/24"

    @property
    def run_dir(self) -> Path:
        return Path(f"/run/dockyard-faults-{self.slot}")

    @property
    def mount(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"unix://{self.run_dir}/docker.sock"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    def client(self, timeout: int = 60) -> docker.APIClient:
        return docker.APIClient(base_url=self.url, timeout=timeout)

    # -- lifecycle -------------------------------------------------------------------

    def prepare(self) -> None:
        require(os.geteuid() == 0, "!!! the fault suite needs root (a private dockerd)")
        require(shutil.which("dockerd") is not None, "!!! dockerd: run scripts/ensure-docker.sh")
        self._remove_leftovers()
        image = self.root / "disk.img"
        _run("truncate", "-s", f"{self.disk_mib}M", str(image))
        _run("mkfs.ext4", "-q", "-F", str(image))
        self.mount.mkdir(parents=True, exist_ok=True)
        _run("mount", "-o", "loop", str(image), str(self.mount))
        bridge = self.bridge
        if _run("ip", "link", "show", bridge, check=False).returncode != 0:
            routed = _run("ip", "-4", "route", "show", self.subnet).stdout.strip()
            taken = f"!!! {self.subnet} is already routed ({routed}); slot {self.slot} taken"
            require(not routed, taken)
            _run("ip", "link", "add", bridge, "type", "bridge")
        if self.address.split("/")[0] not in _run("ip", "-4", "addr", "show", "dev", bridge).stdout:
            _run("ip", "addr", "add", self.address, "dev", bridge)
        _run("ip", "link", "set", bridge, "up")

    def _remove_leftovers(self) -> None:
        """What an earlier run killed before its teardown left: its dockerd, containerd
        and mounts under this slot's run directory (no other process uses it)."""
        for pid_file in (
            self.run_dir / "docker.pid",
            self.run_dir / "exec/containerd/containerd.pid",
        ):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pid_file.read_text().strip())
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if str(self.run_dir).encode() in cmdline:
                    _kill_and_wait(pid)
                pid_file.unlink()
        for line in Path("/proc/mounts").read_text().splitlines():
            point = line.split()[1]
            if point.startswith(str(self.run_dir)):
                _run("umount", "-l", point, check=False)

    def start(self, timeout: float = 60) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "docker.sock").unlink()
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(
                [
                    "dockerd",
                    "--data-root", str(self.mount / "docker"),
                    "--exec-root", str(self.run_dir / "exec"),
                    "-H", self.url,
                    "--pidfile", str(self.run_dir / "docker.pid"),
                    "--containerd-namespace", f"dykf{self.slot}",
                    "--containerd-plugins-namespace", f"dykf{self.slot}p",
                    "--bridge", self.bridge,
                ],
                stdout=log,
                stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.answers():
            assert self.popen.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.2)

    def answers(self) -> bool:
        try:
            client = self.client(timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        except Exception:
            return False
        return True

    def _containerd_pid(self) -> int | None:
        pid_file = self.run_dir / "exec" / "containerd" / "containerd.pid"
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL dockerd and the containerd it runs, as when the machine's docker
        service is killed: the containers' shims (and so the containers) stay."""
        assert self.popen is not None
        containerd = self._containerd_pid()
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        if containerd is not None:
            _kill_and_wait(containerd, timeout=5)
        # A dead containerd may linger as a zombie until init reaps it; dockerd would
        # take it for alive ("containerd is still running") and wait for it forever.
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "exec" / "containerd" / "containerd.pid").unlink()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def import_image(self, image: str = TEST_IMAGE) -> None:
        copy_image(image, self.url)

    def free_mib(self) -> float:
        stats = os.statvfs(self.mount)
        return stats.f_bavail * stats.f_frsize / 2**20

    def teardown(self) -> None:
        with contextlib.suppress(Exception):
            client = self.client(timeout=30)
            for item in client.containers(all=True):
                with contextlib.suppress(Exception):
                    client.remove_container(item["Id"], force=True)
            client.close()
        self.stop()
        containerd = self._containerd_pid()
        if containerd is not None:
            _kill_and_wait(containerd)
        # Network namespaces of containers killed with their engine stay mounted.
        for line in Path("/proc/mounts").read_text().splitlines():
            point = line.split()[1]
            if point.startswith(str(self.run_dir)):
                _run("umount", "-l", point, check=False)
        _run("umount", "-l", str(self.mount), check=False)
        _run("ip", "link", "del", self.bridge, check=False)


@contextlib.contextmanager
def private_engine(root: Path, disk_mib: int = 192, slot: int = SLOT) -> Iterator[PrivateEngine]:
    engine = PrivateEngine(root, disk_mib, slot=slot)
    try:
        engine.prepare()
        engine.start()
        engine.import_image()
        yield engine
    finally:
        engine.teardown()


def copy_image(image: str, engine_url: str) -> None:
    """``docker save`` of ``image`` on the machine's engine, loaded into another engine."""
    saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    loaded = subprocess.run(
        ["docker", "-H", engine_url, "load", "-q"],
        stdin=saved.stdout,
        capture_output=True,
        text=True,
        timeout=120,
    )
    saved.wait(timeout=120)
    assert saved.returncode == 0 and loaded.returncode == 0, loaded.stderr
