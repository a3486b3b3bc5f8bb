"""The two RPC interfaces. Every transport implements both the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from dockyard.domain.container_request import PullPolicy
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.host_agent import HostAgent
from dockyard.domain.image_records import ImageRecord
from dockyard.domain.models import (
    Archive,
    Container,
    ExecResult,
    LogOptions,
    ProcessTable,
    StatsSnapshot,
)
from dockyard.domain.networks import HostNetwork
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.volumes import HostVolumes
from dockyard.rpc.messages import (
    CommitContainer,
    ContainerOperation,
    ContainerReport,
    CreateContainer,
    EventReport,
    HostImages,
    HostReport,
    ImageReport,
    PullImage,
    RebuildContainer,
    ResizeContainer,
)


class ComputeAPI(Protocol):
    """What the control plane asks of the agent on ``host``."""

    def create(self, host: str, message: CreateContainer) -> None:
        """Cast: pull, create and (when ``run``) start a container."""

    def operate(self, host: str, message: ContainerOperation) -> None:
        """Cast: run a lifecycle operation. Raises ``Unavailable`` if the agent is saturated."""

    def check_image(
        self, host: str, image: str, pull_policy: PullPolicy, auth: RegistryAuth | None
    ) -> None:
        """Call: raise ``InvalidImage`` when the host cannot get ``image`` under the policy
        (``RegistryAuthFailed`` when its registry refuses ``auth``)."""

    def logs(self, host: str, uuid: str, options: LogOptions) -> str:
        """Call: the container's log."""

    def execute(self, host: str, uuid: str, command: Sequence[str]) -> ExecResult:
        """Call: run a command in the container and return its output and exit code."""

    def update_limits(self, host: str, uuid: str, cpu: float, memory_mib: int) -> None:
        """Call: apply new CPU and memory limits to the engine container."""

    def resize(self, host: str, message: ResizeContainer) -> None:
        """Cast: apply new limits, then have the control plane move the host claim."""

    def rebuild(self, host: str, message: RebuildContainer) -> None:
        """Cast: recreate the container from its (possibly new) image."""

    def commit(self, host: str, message: CommitContainer) -> str:
        """Call: save the container as a local image; returns the image id."""

    def top(self, host: str, uuid: str, ps_args: str | None) -> ProcessTable:
        """Call: the container's processes."""

    def stats(self, host: str, uuid: str) -> StatsSnapshot:
        """Call: one sample of the container's resource usage."""

    def get_archive(self, host: str, uuid: str, path: str) -> Archive:
        """Call: a tar stream of ``path`` in the container."""

    def put_archive(self, host: str, uuid: str, path: str, data: bytes) -> None:
        """Call: extract a tar stream into the directory ``path`` of the container."""

    def exec_session(self, host: str, uuid: str, command: Sequence[str], tty: bool) -> str:
        """Call: prepare an interactive exec for the host's console proxy; its exec id."""

    def exec_resize(self, host: str, uuid: str, exec_id: str, height: int, width: int) -> None:
        """Call: resize the TTY of an exec session (``NotFound`` for an unknown exec)."""

    def resize_tty(self, host: str, uuid: str, height: int, width: int) -> None:
        """Call: resize the container's TTY."""

    def pull_image(self, host: str, message: PullImage) -> None:
        """Cast: pull an image for its record; the agent reports progress and outcome."""

    def remove_image(self, host: str, reference: str) -> None:
        """Call: remove an image (id or repo:tag) from the engine; ``Conflict`` while a
        container of the engine uses it, ``NotFound`` when the engine lacks it."""

    def search_images(
        self, host: str, term: str, exact: bool, auth: RegistryAuth | None
    ) -> list[dict[str, Any]]:
        """Call: search the registry named in ``term`` (``InvalidInput`` when it offers
        no search)."""

    def apply_firewall(self, host: str, firewall: HostFirewall) -> None:
        """Call: make the host enforce exactly ``firewall`` (after a rule or member change)."""

    def networks_changed(self, host: str) -> None:
        """Cast: a network of the host gained or lost a member on another host; the agent
        re-applies its rules (remote-group members changed) and carries its networks to
        exactly the hosts that have members."""


class ControlAPI(Protocol):
    """What agents report back; the only way they change recorded state."""

    def report(self, message: ContainerReport) -> bool:
        """Apply an agent's report; False when its guard failed or the record is gone."""

    def settle(self, message: ContainerReport) -> None:
        """Cast: apply the report that ends an operation that succeeded, as ``report`` does,
        without the agent waiting for the outcome.

        Only for reports whose loss the agent's reconciliation repairs to the same end: a
        record left in the operation's task is brought to what the engine shows once the
        task is ``stuck_task_after`` old; one whose guard fails was taken over by an
        operation that removes the container, or is gone and its container an orphan.
        """

    def record_event(self, message: EventReport) -> None:
        """Append an event to a container action (and close the action)."""

    def container_removed(self, uuid: str) -> None:
        """The runtime no longer has the container and the record must go."""

    def report_host(self, message: HostReport) -> None:
        """Register or refresh a host's inventory; doubles as the heartbeat."""

    def resize_claim(self, uuid: str, cpu: float, memory_mib: int) -> bool:
        """Store new limits and move the host claim by the difference, atomically.

        False when the record is gone; raises ``Conflict`` naming the resource
        when the host lacks room (then nothing changes).
        """

    def containers_on_host(self, host: str) -> list[Container]:
        """The records assigned to ``host``, for reconciliation."""

    def container(self, uuid: str) -> Container | None:
        """One record, or None when it no longer exists."""

    def spend_console_token(self, token: str, uuid: str, exec_id: str | None) -> bool:
        """Use up a console token; whether it was issued for exactly this session and
        has not expired."""

    def installation(self) -> str:
        """The id of the installation (one per database) whose engine objects agents label."""

    def claim_host(self, agent: HostAgent, stale_after: float) -> HostAgent | None:
        """Take or renew ``agent.host`` for ``agent``; None when it holds it now.

        Another agent process that renewed its claim less than ``stale_after`` seconds
        ago keeps the host and is returned.
        """

    def release_host(self, agent: HostAgent) -> None:
        """Give up ``agent.host`` (a clean stop); a no-op when another agent holds it."""

    def report_image(self, message: ImageReport) -> bool:
        """Record a pull's progress or outcome; False when the image record is gone."""

    def sync_images(self, message: HostImages) -> None:
        """Make a host's image records match what its engine holds."""

    def image_records(self, host: str) -> list[ImageRecord]:
        """The image records of ``host``, for its image garbage collection."""

    def host_networks(self, host: str) -> list[HostNetwork]:
        """The networks ``host`` must hold (those with a port bound to it); none when
        the installation has no networking."""

    def host_firewall(self, host: str) -> HostFirewall:
        """What ``host`` must enforce now (empty when the installation has no networking)."""

    def host_volumes(self, host: str) -> HostVolumes:
        """The volumes ``host`` must keep realised and those whose data it must remove."""

    def volumes_removed(self, host: str, volume_ids: list[str]) -> None:
        """``host`` removed these volumes' data: their records (and GiB) go."""

    def network_detached(self, uuid: str, network_id: str) -> None:
        """The container is unplugged from the network: its ports there go (a user's
        port is kept, unbound) and so do their ``addresses``. Gone or not attached:
        nothing to do."""


class ComputeAPIEndpoint(Protocol):
    """The agent side of ComputeAPI: the same operations without the host."""

    def create(self, message: CreateContainer) -> None: ...

    def operate(self, message: ContainerOperation) -> None: ...

    def check_image(
        self, image: str, pull_policy: PullPolicy, auth: RegistryAuth | None
    ) -> None: ...

    def logs(self, uuid: str, options: LogOptions) -> str: ...

    def execute(self, uuid: str, command: Sequence[str]) -> ExecResult: ...

    def update_limits(self, uuid: str, cpu: float, memory_mib: int) -> None: ...

    def resize(self, message: ResizeContainer) -> None: ...

    def rebuild(self, message: RebuildContainer) -> None: ...

    def commit(self, message: CommitContainer) -> str: ...

    def top(self, uuid: str, ps_args: str | None) -> ProcessTable: ...

    def stats(self, uuid: str) -> StatsSnapshot: ...

    def get_archive(self, uuid: str, path: str) -> Archive: ...

    def put_archive(self, uuid: str, path: str, data: bytes) -> None: ...

    def exec_session(self, uuid: str, command: Sequence[str], tty: bool) -> str: ...

    def exec_resize(self, uuid: str, exec_id: str, height: int, width: int) -> None: ...

    def resize_tty(self, uuid: str, height: int, width: int) -> None: ...

    def pull_image(self, message: PullImage) -> None: ...

    def remove_image(self, reference: str) -> None: ...

    def search_images(
        self, term: str, exact: bool, auth: RegistryAuth | None
    ) -> list[dict[str, Any]]: ...

    def apply_firewall(self, firewall: HostFirewall) -> None: ...
    def networks_changed(self) -> None: ...
