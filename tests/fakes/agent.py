"""A ``ComputeAPIEndpoint`` that records what reaches it and answers with fixed samples.

``fail[name] = error`` makes that method raise; ``hold`` (an Event) makes the
synchronous methods wait for it, to play an agent that does not answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from dockyard.domain.firewall import HostFirewall
from dockyard.domain.models import Archive, ExecResult, LogOptions, ProcessTable, StatsSnapshot
from dockyard.domain.registries import RegistryAuth
from dockyard.rpc.messages import (
    CommitContainer,
    ContainerOperation,
    CreateContainer,
    PullImage,
    RebuildContainer,
    ResizeContainer,
)
from tests.support.rpc_samples import RESULTS

EXEC = next(r for r in RESULTS if isinstance(r, ExecResult))
TOP = next(r for r in RESULTS if isinstance(r, ProcessTable))
STATS = next(r for r in RESULTS if isinstance(r, StatsSnapshot))
ARCHIVE = next(r for r in RESULTS if isinstance(r, Archive))
IMAGE_ID = "sha256:" + "ab" * 32
EXEC_ID = "e1" * 32
LOG_TEXT = "line 1\nligne 2 é\n"
SEARCH_RESULT: list[dict[str, Any]] = [
    {
        "name": "127.0.0.1:5001/team/app",
        "tags": ["1.0", "latest"],
        "description": "",
        "is_automated": False,
        "metadata": {"is_official": False, "star_count": 0},
    }
]


class RecordingAgent:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: dict[str, Exception] = {}
        self.hold: threading.Event | None = None
        self._arrived = threading.Condition()

    def received(self, name: str, timeout: float = 10.0) -> tuple[Any, ...]:
        """The arguments of the first ``name`` call, waiting up to ``timeout`` s for it."""
        with self._arrived:
            self._arrived.wait_for(lambda: any(n == name for n, _ in self.calls), timeout)
            for called, args in self.calls:
                if called == name:
                    return args
        raise AssertionError(f"{name} never reached the agent; got {[n for n, _ in self.calls]}")

    def _record(self, name: str, *args: Any) -> None:
        with self._arrived:
            self.calls.append((name, args))
            self._arrived.notify_all()
        if name in self.fail:
            raise self.fail[name]

    def _answer(self, name: str, *args: Any) -> None:
        self._record(name, *args)
        if self.hold is not None:
            self.hold.wait(30)

    def create(self, message: CreateContainer) -> None:
        self._record("create", message)

    def operate(self, message: ContainerOperation) -> None:
        self._record("operate", message)

    def resize(self, message: ResizeContainer) -> None:
        self._record("resize", message)

    def rebuild(self, message: RebuildContainer) -> None:
        self._record("rebuild", message)

    def check_image(self, image: str, pull_policy: str, auth: RegistryAuth | None) -> None:
        self._answer("check_image", image, pull_policy, auth)

    def logs(self, uuid: str, options: LogOptions) -> str:
        self._answer("logs", uuid, options)
        return LOG_TEXT

    def execute(self, uuid: str, command: Sequence[str]) -> ExecResult:
        self._answer("execute", uuid, list(command))
        return EXEC

    def update_limits(self, uuid: str, cpu: float, memory_mib: int) -> None:
        self._answer("update_limits", uuid, cpu, memory_mib)

    def commit(self, message: CommitContainer) -> str:
        self._answer("commit", message)
        return IMAGE_ID

    def top(self, uuid: str, ps_args: str | None) -> ProcessTable:
        self._answer("top", uuid, ps_args)
        return TOP

    def stats(self, uuid: str) -> StatsSnapshot:
        self._answer("stats", uuid)
        return STATS

    def get_archive(self, uuid: str, path: str) -> Archive:
        self._answer("get_archive", uuid, path)
        return ARCHIVE

    def put_archive(self, uuid: str, path: str, data: bytes) -> None:
        self._answer("put_archive", uuid, path, data)

    def exec_session(self, uuid: str, command: Sequence[str], tty: bool) -> str:
        self._answer("exec_session", uuid, list(command), tty)
        return EXEC_ID

    def exec_resize(self, uuid: str, exec_id: str, height: int, width: int) -> None:
        self._answer("exec_resize", uuid, exec_id, height, width)

    def resize_tty(self, uuid: str, height: int, width: int) -> None:
        self._answer("resize_tty", uuid, height, width)

    def pull_image(self, message: PullImage) -> None:
        self._record("pull_image", message)

    def remove_image(self, reference: str) -> None:
        self._answer("remove_image", reference)

    def search_images(
        self, term: str, exact: bool, auth: RegistryAuth | None
    ) -> list[dict[str, Any]]:
        self._answer("search_images", term, exact, auth)
        return SEARCH_RESULT

    def apply_firewall(self, firewall: HostFirewall) -> None:
        self._answer("apply_firewall", firewall)

    def networks_changed(self) -> None:
        self._record("networks_changed")
