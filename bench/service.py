"""Starting and stopping `dockyard up` as a subprocess with a benchmark configuration.

Same approach as ``tests/e2e/process.py``: a config file of its own, a unique host
name (the agent removes engine containers labelled with its host that it has no
record of, so sharing a host name with another instance would be destructive) and a
free port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

DOCKYARD = Path(sys.executable).parent / "dockyard"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceConfig:
    """The options the benchmark sets; everything else keeps Dockyard's default."""

    # 1,000+ containers of 0.1 vCPU / 16 MiB on 2 CPUs / 24 GiB need higher ratios.
    cpu_allocation_ratio: float = 1000.0
    ram_allocation_ratio: float = 10.0
    # One agent worker per concurrent client, so the agent never queues the
    # benchmark's own operations; the queue is large enough for the bulk create.
    workers: int = 10
    queue_size: int = 1024
    api_threads: int = 16
    extra: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class DockyardService:
    root: Path
    host: str
    port: int
    config: ServiceConfig
    #: A directory holding the ``dockyard`` package to run instead of the installed one
    #: (e.g. a ``git archive`` snapshot); None runs the working tree the venv points at.
    source: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def new(
        cls, root: Path, config: ServiceConfig | None = None, source: Path | None = None
    ) -> DockyardService:
        root.mkdir(parents=True, exist_ok=True)
        host = f"bench-{uuid.uuid4().hex[:12]}"
        service = cls(root, host, free_port(), config or ServiceConfig(), source)
        service.write_config()
        return service

    def env(self) -> dict[str, str]:
        """Environment for a process that must import the same ``dockyard`` as the service."""
        env = dict(os.environ)
        if self.source is not None:
            env["PYTHONPATH"] = str(self.source)
        return env

    @property
    def config_file(self) -> Path:
        return self.root / "dockyard.conf"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "dockyard.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        c = self.config
        sections: dict[str, dict[str, str]] = {
            # The benchmark clients send no tokens; local (the default) would refuse them.
            "DEFAULT": {
                "host": self.host,
                "data_dir": str(self.data_dir),
                "auth_strategy": "noauth",
            },
            "api": {"port": str(self.port), "threads": str(c.api_threads)},
            "compute": {
                "workers": str(c.workers),
                "queue_size": str(c.queue_size),
                "cpu_allocation_ratio": str(c.cpu_allocation_ratio),
                "ram_allocation_ratio": str(c.ram_allocation_ratio),
            },
            "websocket_proxy": {"wsproxy_port": "0"},
            # The bulk create holds 1,000+ containers in one project.
            "quota": dict.fromkeys(("containers", "cpu", "disk", "memory"), "-1"),
        }
        for section, values in c.extra.items():
            sections.setdefault(section, {}).update(values)
        lines: list[str] = []
        for section, values in sections.items():
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {v}" for k, v in values.items())
        self.config_file.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 30.0) -> None:
        """Start `dockyard up` and wait until its root document answers."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(DOCKYARD), "up", "--config-file", str(self.config_file)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
                cwd=self.root,  # not the repository: its cwd entry would shadow PYTHONPATH
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dockyard up exited with {self.process.returncode}; see {self.log}"
                )
            try:
                if requests.get(self.url + "/", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.process.kill()
        raise RuntimeError(f"dockyard up did not answer within {timeout:g} s; see {self.log}")

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM the service and wait; returns its exit code (None if it had to be killed)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            return None
