"""The in-process transport: direct calls, for `dockyard up` and tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.domain.container_request import PullPolicy
from dockyard.domain.errors import ServiceBusy
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.models import Archive, ExecResult, LogOptions, ProcessTable, StatsSnapshot
from dockyard.domain.registries import RegistryAuth
from dockyard.rpc.api import ComputeAPIEndpoint
from dockyard.rpc.messages import (
    CommitContainer,
    ContainerOperation,
    CreateContainer,
    PullImage,
    RebuildContainer,
    ResizeContainer,
)


class LocalComputeAPI:
    """Routes each call to the in-process agent serving the host."""

    def __init__(self, agents: Mapping[str, ComputeAPIEndpoint]) -> None:
        self.agents = agents

    def _agent(self, host: str) -> ComputeAPIEndpoint:
        agent = self.agents.get(host)
        if agent is None:
            raise ServiceBusy(f"The agent of host {host} is not reachable.")
        return agent

    def create(self, host: str, message: CreateContainer) -> None:
        self._agent(host).create(message)

    def operate(self, host: str, message: ContainerOperation) -> None:
        self._agent(host).operate(message)

    def check_image(
        self, host: str, image: str, pull_policy: PullPolicy, auth: RegistryAuth | None
    ) -> None:
        self._agent(host).check_image(image, pull_policy, auth)

    def logs(self, host: str, uuid: str, options: LogOptions) -> str:
        return self._agent(host).logs(uuid, options)

    def execute(self, host: str, uuid: str, command: Sequence[str]) -> ExecResult:
        return self._agent(host).execute(uuid, command)

    def update_limits(self, host: str, uuid: str, cpu: float, memory_mib: int) -> None:
        self._agent(host).update_limits(uuid, cpu, memory_mib)

    def resize(self, host: str, message: ResizeContainer) -> None:
        self._agent(host).resize(message)

    def rebuild(self, host: str, message: RebuildContainer) -> None:
        self._agent(host).rebuild(message)

    def commit(self, host: str, message: CommitContainer) -> str:
        return self._agent(host).commit(message)

    def top(self, host: str, uuid: str, ps_args: str | None) -> ProcessTable:
        return self._agent(host).top(uuid, ps_args)

    def stats(self, host: str, uuid: str) -> StatsSnapshot:
        return self._agent(host).stats(uuid)

    def get_archive(self, host: str, uuid: str, path: str) -> Archive:
        return self._agent(host).get_archive(uuid, path)

    def put_archive(self, host: str, uuid: str, path: str, data: bytes) -> None:
        self._agent(host).put_archive(uuid, path, data)

    def exec_session(self, host: str, uuid: str, command: Sequence[str], tty: bool) -> str:
        return self._agent(host).exec_session(uuid, command, tty)

    def exec_resize(self, host: str, uuid: str, exec_id: str, height: int, width: int) -> None:
        self._agent(host).exec_resize(uuid, exec_id, height, width)

    def resize_tty(self, host: str, uuid: str, height: int, width: int) -> None:
        self._agent(host).resize_tty(uuid, height, width)

    def pull_image(self, host: str, message: PullImage) -> None:
        self._agent(host).pull_image(message)

    def remove_image(self, host: str, reference: str) -> None:
        self._agent(host).remove_image(reference)

    def search_images(
        self, host: str, term: str, exact: bool, auth: RegistryAuth | None
    ) -> list[dict[str, Any]]:
        return self._agent(host).search_images(term, exact, auth)

    def apply_firewall(self, host: str, firewall: HostFirewall) -> None:
        self._agent(host).apply_firewall(firewall)

    def networks_changed(self, host: str) -> None:
        self._agent(host).networks_changed()
