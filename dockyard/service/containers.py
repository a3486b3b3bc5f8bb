"""Container use cases after creation: lookups, lifecycle actions, logs, exec."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.domain.addresses import held_ports
from dockyard.domain.clock import Clock
from dockyard.domain.container_request import PullPolicy
from dockyard.domain.errors import (
    Conflict,
    DockyardError,
    InvalidImage,
    InvalidInput,
    InvalidRequest,
    InvalidState,
    OverQuota,
    ServiceBusy,
    ValidationFailed,
)
from dockyard.domain.images import parse_image
from dockyard.domain.models import (
    ActionEvent,
    Archive,
    Container,
    ContainerAction,
    ExecResult,
    LogOptions,
    ProcessTable,
    RequestContext,
    StatsSnapshot,
)
from dockyard.domain.registries import RegistryAuth, in_registry
from dockyard.domain.reports import ANY_TASK
from dockyard.domain.states import ALLOWED, IN_FLIGHT, Status, allowed
from dockyard.drivers.network.base import NetworkDriver
from dockyard.rpc.api import ComputeAPI
from dockyard.rpc.messages import (
    CommitContainer,
    ContainerOperation,
    RebuildContainer,
    ResizeContainer,
)
from dockyard.service.container_volumes import ContainerVolumes
from dockyard.service.image_drivers import ImageDrivers
from dockyard.service.registries import RegistryService


def _scope(ctx: RequestContext, widen: bool) -> str | None:
    """The project a lookup is confined to; None means every project."""
    return None if ctx.is_admin and widen else ctx.project_id


def _require_state(action: str, container: Container) -> None:
    if not allowed(action, container.status):
        raise InvalidState(
            f"Cannot {action} container {container.uuid} in {container.status} state."
        )


_LIMITS = ("cpu", "memory")


def command_argv(command: str) -> list[str]:
    """An exec's command line (one shell-like string, as zunclient sends it) as argv."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InvalidInput(f"command: cannot parse {command!r}: {exc}.") from exc
    if not argv:
        raise InvalidInput("command: must name a program to run.")
    return argv


def _new_limits(container: Container, values: Mapping[str, Any]) -> tuple[float, int] | None:
    """The (cpu, memory MiB) asked for, current values filling a gap; None if neither."""
    if all(values.get(key) is None for key in _LIMITS):
        return None
    current = container.spec()
    cpu, memory = values.get("cpu"), values.get("memory")
    return (
        float(cpu) if cpu is not None else current.cpu,
        int(memory) if memory is not None else current.memory_mib,
    )


def _check_commit_target(repository: str, tag: str) -> None:
    try:
        ref = parse_image(repository)
    except InvalidImage:
        raise InvalidInput(
            f"repository: {repository!r} is not a valid repository name "
            "(expected [registry/]name in lower case).",
            field="repository",
        ) from None
    if ref.tag is not None or ref.digest is not None:
        raise InvalidInput(
            f"repository: {repository!r} must not carry a tag or digest; pass the tag as tag.",
            field="repository",
        )
    try:
        parse_image(f"{repository}:{tag}")
    except InvalidImage:
        raise InvalidInput(f"tag: {tag!r} is not a valid image tag.", field="tag") from None


class ContainerService:
    def __init__(
        self,
        containers: ContainerRepository,
        actions: ActionRepository,
        compute: ComputeAPI,
        max_limit: int,
        pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT,
        hosts: HostRepository | None = None,
        registries: RegistryService | None = None,
        clock: Clock | None = None,
        networks: NetworkDriver | None = None,
        volumes: ContainerVolumes | None = None,
        image_drivers: ImageDrivers | None = None,
    ) -> None:
        self.containers = containers
        #: Detaches or removes the volumes of a record removed without its agent.
        self.volumes = volumes
        self.image_drivers = image_drivers or ImageDrivers()
        #: Gives back the ports of a record removed without its agent.
        self.networks = networks
        self.clock = clock or containers.db.clock
        #: When given, actions on a container whose host is down fail without an RPC.
        self.hosts = hosts
        self.actions = actions
        self.compute = compute
        self.max_limit = max_limit
        #: Pull policy of a rebuild when the container has none of its own.
        self.pull_policy = pull_policy
        #: Credentials of a container's registry for its rebuilds.
        self.registries = registries

    # -- reads -------------------------------------------------------------

    def get(self, ctx: RequestContext, ident: str) -> Container:
        # Admins address any project's container by UUID or name (Zun does the same).
        return self.containers.get(ident, _scope(ctx, widen=True))

    def page(
        self,
        ctx: RequestContext,
        filters: Mapping[str, Any],
        limit: int | None,
        marker: str | None,
        sort_key: str,
        sort_dir: str,
    ) -> list[Container]:
        return self.containers.page(
            project_id=_scope(ctx, widen=ctx.all_projects),
            filters=filters,
            limit=min(limit or self.max_limit, self.max_limit),
            marker=marker,
            sort_key=sort_key,
            sort_dir=sort_dir,
        )

    # -- asynchronous lifecycle actions ------------------------------------

    def act(self, ctx: RequestContext, ident: str, action: str, **params: Any) -> Container:
        """Reserve the container for ``action`` and cast it to the owning agent."""
        return self.operate_on(ctx, self.get(ctx, ident), action, **params)

    def operate_on(
        self,
        ctx: RequestContext,
        container: Container,
        action: str,
        record: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Container:
        """Reserve ``container`` for ``action`` (its action opened, ``record`` stored with
        the task state, 409 when busy) and cast the operation to the owning agent.

        A cast that fails puts the record back as it was (``record``'s fields too).
        """
        _require_state(action, container)
        host = self._host_of(container)
        reserved = self._reserve(ctx, container, action, force=False, extra=record)
        message = ContainerOperation(
            uuid=container.uuid, operation=action, request_id=ctx.request_id, **params
        )
        undo = {key: getattr(container, key) for key in record or {}}
        self._cast(container, reserved, lambda: self.compute.operate(host, message), undo)
        return reserved

    def check_host(self, container: Container) -> str:
        """The container's host, up (503 when down, 400 when it has none)."""
        return self._host_of(container)

    def delete(self, ctx: RequestContext, ident: str, force: bool, stop: bool) -> None:
        container = self.get(ctx, ident)
        key = "delete_after_stop" if stop else "delete_force" if force else "delete"
        _require_state(key, container)
        if container.host is None:
            self._release_volumes(container, realised=False)
            self.containers.destroy(container.uuid)
            return
        down = self._down_reason(container.host)  # one look at the host, not two
        if force and down is not None:
            # Its agent cannot be reached to remove the engine container: the record, its
            # claim and quota go now; the agent removes the container, left without a
            # record, at its first reconciliation once it is back; its rules go with the
            # ports at the same time.
            self._release_ports(container)
            self._release_volumes(container, realised=True)
            self.containers.destroy(container.uuid)
            return
        if down is not None:
            raise ServiceBusy(down)
        host = container.host
        reserved = self._reserve(ctx, container, key, force=force, logged="delete")
        message = ContainerOperation(
            uuid=container.uuid,
            operation="delete",
            request_id=ctx.request_id,
            force=force or stop,
            stop_first=stop and container.status is Status.RUNNING,
            timeout=10 if stop else None,
        )
        self._cast(container, reserved, lambda: self.compute.operate(host, message))

    def rebuild(
        self, ctx: RequestContext, ident: str, image: str | None, image_driver: str | None
    ) -> Container:
        """Recreate the engine container from ``image`` (default: its own) with the same spec.

        ``image_driver`` (default: the container's own) fetches it: from a registry
        (docker), or from Glance, where the image is looked up now so that a wrong one
        is refused before anything changes (the host downloads it only if it lacks it).
        Another driver than the container's needs the image named.
        """
        asked = None if image_driver is None else self.image_drivers.choose(image_driver)
        container = self.get(ctx, ident)
        own = container.image_driver or "docker"
        driver = asked or own
        if image is None and driver != own:
            raise ValidationFailed(
                f"image: container {container.uuid} runs a {own} image; a rebuild with "
                f"image_driver {driver} names the image to take.",
                field="image",
            )
        wanted = image or container.image
        reference = wanted if driver == "glance" else str(parse_image(wanted))
        _require_state("rebuild", container)
        host = self._host_of(container)
        pull_policy = container.image_pull_policy or self.pull_policy
        auth = self._auth(container) if driver == "docker" else None
        if auth is not None:
            reference = in_registry(reference, auth.domain)
        if driver == "glance":
            self.image_drivers.check_glance(reference)
        elif image is not None:
            self.compute.check_image(host, reference, pull_policy, auth)
        changed = {"image": image} if image is not None else {}
        if driver != own:
            changed["image_driver"] = driver
        reserved = self._reserve(ctx, container, "rebuild", force=False, extra=changed)
        spec = dataclasses.replace(
            reserved.spec(),
            image=reference,
            # The same volumes, data and all: they are held by the record, not the engine.
            volumes=self.volumes.mounts_of(container.uuid) if self.volumes is not None else (),
        )
        # Started again iff it was running when the rebuild was asked for.
        # On the same ports: same addresses, same rules (the MAC is the engine's anew).
        ports = tuple(h.port for h in held_ports(container.project_id, container.addresses))
        message = RebuildContainer(
            spec,
            container.status is Status.RUNNING,
            pull_policy,
            ctx.request_id,
            auth=auth,
            ports=ports,
            binds=self.volumes.files_of(container.uuid) if self.volumes is not None else (),
            image_driver=driver,
        )
        self._cast(container, reserved, lambda: self.compute.rebuild(host, message))
        return reserved

    def _release_volumes(self, container: Container, realised: bool) -> None:
        if self.volumes is not None:
            self.volumes.release(container.uuid, realised=realised)

    def _release_ports(self, container: Container) -> None:
        if self.networks is None:
            return
        if container.addresses:
            held = held_ports(container.project_id, container.addresses)
            self.networks.release_ports(container.uuid, [h.port for h in held])
        if container.exposed_ports:
            self.networks.release_exposed_ports_group(container.uuid)

    def _auth(self, container: Container) -> RegistryAuth | None:
        if self.registries is None or container.registry_id is None:
            return None
        return self.registries.auth_of(container.registry_id)

    def commit(self, ctx: RequestContext, ident: str, repository: str, tag: str) -> str:
        """Save the container as the local image ``repository:tag``; returns the image id."""
        _check_commit_target(repository, tag)
        container = self.get(ctx, ident)
        _require_state("commit", container)
        host = self._host_of(container)
        self._record_action(ctx, container, "commit")
        # A container of a Glance image commits to Glance (its image id is the answer).
        driver = "glance" if container.image_driver == "glance" else "docker"
        message = CommitContainer(container.uuid, repository, tag, ctx.request_id, driver)
        return self.compute.commit(host, message)

    def _host_of(self, container: Container) -> str:
        if container.host is None:
            raise InvalidRequest(
                f"Container {container.uuid} was never placed on a host "
                f"({container.status_reason or 'no reason recorded'}); delete it."
            )
        self._check_up(container.host)
        return container.host

    def _check_up(self, name: str) -> None:
        reason = self._down_reason(name)
        if reason is not None:
            raise ServiceBusy(reason)

    def _down_reason(self, name: str) -> str | None:
        """Why host ``name`` cannot be asked anything now; None when it is up."""
        host = self.hosts.get(name) if self.hosts is not None else None
        if self.hosts is None or (host is not None and host.up):
            return None
        if host is None:
            return f"Host {name} is not registered; its agent has not reported."
        seen = host.last_seen.strftime("%Y-%m-%d %H:%M:%S") if host.last_seen else "never"
        why = "forced down" if host.forced_down else "down"
        return (
            f"Host {name} is {why} since {seen} UTC (its last heartbeat); "
            "retry once its agent reports again."
        )

    def _reserve(
        self,
        ctx: RequestContext,
        container: Container,
        action: str,
        force: bool,
        extra: Mapping[str, Any] | None = None,
        logged: str | None = None,
    ) -> Container:
        """Compare-and-swap the record into the action's task state and open the action
        (named ``logged``, default ``action``) in the same transaction; 409 if it moved."""
        task, status = IN_FLIGHT[action]
        values: dict[str, Any] = {"task_state": task, "status_reason": None, **(extra or {})}
        if status is not None:
            values["status"] = status
        reserved = self.containers.update(
            container.uuid,
            values,
            status_in=ALLOWED[action],
            expect=ANY_TASK if force else None,
            action=self._action(ctx, container, logged or action),
        )
        if reserved is not None:
            return reserved
        current = self.containers.find(container.uuid)
        if current is None:
            raise Conflict(f"Container {container.uuid} was deleted meanwhile.")
        _require_state(action, current)
        raise Conflict(
            f"Container {container.uuid} is busy ({current.task_state}); "
            "retry when that operation has finished."
        )

    def _cast(
        self,
        before: Container,
        reserved: Container,
        send: Callable[[], None],
        undo: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            send()
        except DockyardError:
            # Undo the reservation so the container is not stuck in a task state.
            self.containers.update(
                reserved.uuid,
                {
                    "task_state": None,
                    "status": before.status,
                    "image": before.image,
                    "image_driver": before.image_driver,
                    **(undo or {}),
                },
                expect=reserved.task_state,
            )
            raise

    def _action(self, ctx: RequestContext, container: Container, action: str) -> ContainerAction:
        return ContainerAction(
            action=action,
            container_uuid=container.uuid,
            request_id=ctx.request_id,
            user_id=ctx.user_id,
            project_id=ctx.project_id,
            start_time=self.clock.now(),
        )

    def _record_action(self, ctx: RequestContext, container: Container, action: str) -> None:
        self.actions.start(self._action(ctx, container, action))

    # -- synchronous calls -------------------------------------------------

    def logs(self, ctx: RequestContext, ident: str, options: LogOptions) -> str:
        container = self.get(ctx, ident)
        _require_state("logs", container)
        return self.compute.logs(self._host_of(container), container.uuid, options)

    def execute(self, ctx: RequestContext, ident: str, command: str) -> ExecResult:
        container = self.get(ctx, ident)
        _require_state("execute", container)
        argv = command_argv(command)
        return self.compute.execute(self._host_of(container), container.uuid, argv)

    def ready(self, ctx: RequestContext, ident: str, action: str) -> tuple[Container, str]:
        """The container, checked for ``action``, and its host."""
        container = self.get(ctx, ident)
        _require_state(action, container)
        return container, self._host_of(container)

    def top(self, ctx: RequestContext, ident: str, ps_args: str | None) -> ProcessTable:
        container, host = self.ready(ctx, ident, "top")
        return self.compute.top(host, container.uuid, ps_args)

    def stats(self, ctx: RequestContext, ident: str) -> StatsSnapshot:
        container, host = self.ready(ctx, ident, "stats")
        return dataclasses.replace(self.compute.stats(host, container.uuid), name=container.name)

    def get_archive(self, ctx: RequestContext, ident: str, path: str) -> Archive:
        container, host = self.ready(ctx, ident, "get_archive")
        return self.compute.get_archive(host, container.uuid, path)

    def put_archive(self, ctx: RequestContext, ident: str, path: str, data: bytes) -> None:
        container, host = self.ready(ctx, ident, "put_archive")
        self.compute.put_archive(host, container.uuid, path, data)

    # -- record-only changes -----------------------------------------------

    def update(self, ctx: RequestContext, ident: str, values: Mapping[str, Any]) -> Container:
        container = self.get(ctx, ident)
        _require_state("update", container)
        limits = _new_limits(container, values)
        if limits is not None:
            container = self._apply_limits(container, *limits)
        return self._save(container, {k: v for k, v in values.items() if k not in _LIMITS})

    def _apply_limits(self, container: Container, cpu: float, memory: int) -> Container:
        """Engine first, then the record, the claim and the quota; 409 (nothing changed)
        without room, 403 over quota."""
        host = self._host_of(container)
        self.containers.check_room(container.uuid, cpu, memory)
        self.compute.update_limits(host, container.uuid, cpu, memory)
        try:
            updated = self.containers.resize(container.uuid, cpu, memory)
        except (Conflict, OverQuota):
            # The host or the quota filled up since the check: put the engine back.
            old = container.spec()
            self.compute.update_limits(host, container.uuid, old.cpu, old.memory_mib)
            raise
        if updated is None:
            raise Conflict(f"Container {container.uuid} was deleted meanwhile.")
        return updated

    def resize(self, ctx: RequestContext, ident: str, values: Mapping[str, Any]) -> Container:
        """Cast new limits to the agent; returns the record as it was before."""
        container = self.get(ctx, ident)
        _require_state("resize_container", container)
        limits = _new_limits(container, values)
        if limits is not None:
            host = self._host_of(container)
            self.containers.check_room(container.uuid, *limits)
            old = container.spec()
            self.compute.resize(
                host,
                ResizeContainer(container.uuid, *limits, old.cpu, old.memory_mib, ctx.request_id),
            )
        return container

    def rename(self, ctx: RequestContext, ident: str, name: str) -> Container:
        container = self.get(ctx, ident)
        if container.name == name:
            raise Conflict(f"Container {container.uuid} is already named {name}.")
        return self._save(container, {"name": name})

    def _save(self, container: Container, values: Mapping[str, Any]) -> Container:
        if not values:
            return container
        updated = self.containers.update(container.uuid, values)
        if updated is None:
            raise Conflict(f"Container {container.uuid} was deleted meanwhile.")
        return updated

    # -- action log --------------------------------------------------------

    def action_list(self, ctx: RequestContext, ident: str) -> list[ContainerAction]:
        return self.actions.for_container(self.get(ctx, ident).uuid)

    def action_show(
        self, ctx: RequestContext, ident: str, request_id: str
    ) -> tuple[ContainerAction, list[ActionEvent]]:
        return self.actions.get(self.get(ctx, ident).uuid, request_id)
