"""The two RPC interfaces. Every transport implements both the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dockyard.domain.models import Container, ExecResult, LogOptions
from dockyard.rpc.messages import (
    ContainerOperation,
    ContainerReport,
    CreateContainer,
    EventReport,
    HostReport,
)


class ComputeAPI(Protocol):
    """What the control plane asks of the agent on ``host``."""

    def create(self, host: str, message: CreateContainer) -> None:
        """Cast: pull, create and (when ``run``) start a container."""

    def operate(self, host: str, message: ContainerOperation) -> None:
        """Cast: run a lifecycle operation. Raises ``Unavailable`` if the agent is saturated."""

    def check_image(self, host: str, image: str, pull_policy: str) -> None:
        """Call: raise ``InvalidImage`` when the host cannot get ``image`` under the policy."""

    def logs(self, host: str, uuid: str, options: LogOptions) -> str:
        """Call: the container's log."""

    def execute(self, host: str, uuid: str, command: Sequence[str]) -> ExecResult:
        """Call: run a command in the container and return its output and exit code."""


class ControlAPI(Protocol):
    """What agents report back; the only way they change recorded state."""

    def report(self, message: ContainerReport) -> bool:
        """Apply an agent's report; False when its guard failed or the record is gone."""

    def record_event(self, message: EventReport) -> None:
        """Append an event to a container action (and close the action)."""

    def container_removed(self, uuid: str) -> None:
        """The runtime no longer has the container and the record must go."""

    def report_host(self, message: HostReport) -> None:
        """Register or refresh a host's inventory; doubles as the heartbeat."""

    def containers_on_host(self, host: str) -> list[Container]:
        """The records assigned to ``host``, for reconciliation."""


class ComputeAPIEndpoint(Protocol):
    """The agent side of ComputeAPI: the same operations without the host."""

    def create(self, message: CreateContainer) -> None: ...

    def operate(self, message: ContainerOperation) -> None: ...

    def check_image(self, image: str, pull_policy: str) -> None: ...

    def logs(self, uuid: str, options: LogOptions) -> str: ...

    def execute(self, uuid: str, command: Sequence[str]) -> ExecResult: ...
