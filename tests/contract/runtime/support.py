"""Constants and helpers the runtime contract tests share (fixtures are in ``conftest``)."""

from __future__ import annotations

import io
import queue
import tarfile
import threading
import time
from collections.abc import Callable

import pytest

from dockyard.domain.models import ContainerSpec
from dockyard.domain.states import Status
from dockyard.drivers.runtime.base import ConsoleStream, RuntimeDriver

IMAGE = "dockyard-test/busybox:latest"
REGISTRY = "127.0.0.1:5001"
REGISTRY_IMAGE = f"{REGISTRY}/dockyard-test/busybox:latest"
HOST = "contract-host"
INSTALLATION = "c0a7ac70-0000-4000-8000-000000000001"
# PID 1 leaves on SIGTERM (sleep alone would ignore it), so stops are quick.
SLEEPER = ("sh", "-c", "trap 'exit 143' TERM; sleep 300 & wait")

Factory = Callable[..., ContainerSpec]

# Why a contract test runs against the engine only: the fake runtime holds state, not
# processes, so what only a real process or kernel can show is checked on Docker alone.
REAL_PROCESS = "needs a real process (its output, its signal handling, a shell, CPU use)"
REAL_CGROUP = "reads the limits the kernel enforces in the container's cgroup"
ENGINE_RECORDS = "reads the engine's own records (labels, HostConfig, foreign containers)"


def engine_only(reason: str) -> pytest.MarkDecorator:
    """Run this contract test against the Docker runtime only, for ``reason``."""
    return pytest.mark.engine_only(reason=reason)


def wait_for_status(
    runtime: RuntimeDriver, uuid: str, status: Status, within: float = 10.0
) -> None:
    deadline = time.monotonic() + within
    while runtime.inspect(uuid).status is not status:
        assert time.monotonic() < deadline, f"{uuid} never reached {status}"
        time.sleep(0.05)


def read_first(runtime: RuntimeDriver, uuid: str, *paths: str) -> str:
    """The content of the first readable file among ``paths`` inside the container."""
    script = " || ".join(f"cat {path} 2>/dev/null" for path in paths)
    result = runtime.execute(uuid, ["sh", "-c", script], timeout=10)
    assert result.exit_code == 0, f"none of {paths} readable: {result.output!r}"
    return result.output.strip()


def cgroup_limits(runtime: RuntimeDriver, uuid: str) -> tuple[float, int]:
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


def tar_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


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
