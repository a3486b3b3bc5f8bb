"""Running `dockyard up` as a real subprocess for end-to-end tests."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import requests

from dockyard.domain.models import LABEL_HOST
from tests.conftest import free_port, private_network_pool

SERVING = "Dockyard is serving the Zun v1 API"
DOCKYARD = Path(sys.executable).parent / "dockyard"


@dataclass
class Instance:
    """Where one service lives: its host name, port, data and log; reused across restarts."""

    root: Path
    host: str
    port: int
    #: Whether stdout (where first-start credentials are printed) goes to ``output``
    #: instead of ``log``, which then holds only what the service logs (stderr).
    split_output: bool = False
    #: The CA that signed the API's certificate, when it serves HTTPS.
    ca_file: Path | None = None

    @classmethod
    def new(
        cls,
        root: Path,
        prefix: str = "e2e",
        auth_strategy: str | None = "noauth",
        extra_config: Sequence[str] = (),
        split_output: bool = False,
        default_host: bool = False,
        own_network_pool: bool = True,
    ) -> Instance:
        """``auth_strategy`` None leaves Dockyard's default (local) in force;
        ``default_host`` leaves ``[DEFAULT] host`` at its default, the machine's name;
        ``own_network_pool`` False leaves the project-network range to Dockyard's choice."""
        host = socket.gethostname() if default_host else f"{prefix}-{uuid.uuid4().hex[:12]}"
        instance = cls(root, host, free_port(), split_output)
        strategy = [f"auth_strategy = {auth_strategy}"] if auth_strategy else []
        lines = [
            "[DEFAULT]",
            *([] if default_host else [f"host = {instance.host}"]),
            f"data_dir = {root / 'data'}",
            *strategy,
            "[api]",
            f"port = {instance.port}",
            "[compute]",
            "sync_interval = 2",
            "[websocket_proxy]",
            "wsproxy_port = 0",
            # Installations share the engine, which refuses overlapping bridges.
            "[network]",
            *([f"project_network_pool = {private_network_pool()}"] if own_network_pool else []),
            *extra_config,
        ]
        instance.config.write_text("\n".join(lines) + "\n")
        return instance

    @property
    def config(self) -> Path:
        return self.root / "dockyard.conf"

    @property
    def log(self) -> Path:
        return self.root / "dockyard.log"

    @property
    def output(self) -> Path:
        return self.root / ("dockyard.out" if self.split_output else "dockyard.log")

    @property
    def url(self) -> str:
        scheme = "http" if self.ca_file is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> subprocess.Popen[bytes]:
        """Start `dockyard up` and wait until it answers (at most 30 s)."""
        with self.log.open("ab") as log, self.output.open("ab") as out:
            process = subprocess.Popen(
                [str(DOCKYARD), "up", "--config-file", str(self.config)],
                stdout=out,
                stderr=log if self.split_output else subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"dockyard up exited with {process.returncode}")
            try:
                verify = str(self.ca_file) if self.ca_file else True
                if requests.get(self.url + "/", timeout=1, verify=verify).status_code == 200:
                    return process
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        process.kill()
        raise AssertionError("dockyard up did not start serving within 30 s")


def remove_volumes(engine: docker.DockerClient, instance: Instance) -> None:
    """What a failed test may leave of ``instance``'s volumes: engine volumes with its host's
    label, and the loop-mounted filesystems under its data directory."""
    labels = {"label": f"{LABEL_HOST}={instance.host}"}
    for volume in engine.volumes.list(filters=labels):
        with contextlib.suppress(docker.errors.APIError):
            volume.remove(force=True)
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1]
        if point.startswith(f"{instance.root}/"):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int | None:
    """Signal the service and return its exit code (None when it did not exit in 30 s)."""
    process.send_signal(sig)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return None
