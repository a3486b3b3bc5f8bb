"""Container use cases after creation: lookups, lifecycle actions, logs, exec."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from dockyard.db.models import utcnow
from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.containers import IDLE, ContainerRepository
from dockyard.domain.errors import (
    Conflict,
    DockyardError,
    InvalidInput,
    InvalidRequest,
    InvalidState,
)
from dockyard.domain.models import (
    ActionEvent,
    Container,
    ContainerAction,
    ExecResult,
    LogOptions,
    RequestContext,
)
from dockyard.domain.states import ALLOWED, IN_FLIGHT, Status, allowed
from dockyard.rpc.api import ComputeAPI
from dockyard.rpc.messages import ContainerOperation


def _scope(ctx: RequestContext, widen: bool) -> str | None:
    """The project a lookup is confined to; None means every project."""
    return None if ctx.is_admin and widen else ctx.project_id


def _require_state(action: str, container: Container) -> None:
    if not allowed(action, container.status):
        raise InvalidState(
            f"Cannot {action} container {container.uuid} in {container.status} state."
        )


class ContainerService:
    def __init__(
        self,
        containers: ContainerRepository,
        actions: ActionRepository,
        compute: ComputeAPI,
        max_limit: int,
    ) -> None:
        self.containers = containers
        self.actions = actions
        self.compute = compute
        self.max_limit = max_limit

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
        container = self.get(ctx, ident)
        _require_state(action, container)
        host = self._host_of(container)
        reserved = self._reserve(container, action, force=False)
        self._record_action(ctx, container, action)
        self._cast(
            reserved,
            host,
            ContainerOperation(
                uuid=container.uuid, operation=action, request_id=ctx.request_id, **params
            ),
        )
        return reserved

    def delete(self, ctx: RequestContext, ident: str, force: bool, stop: bool) -> None:
        container = self.get(ctx, ident)
        key = "delete_after_stop" if stop else "delete_force" if force else "delete"
        _require_state(key, container)
        if container.host is None:
            self.containers.destroy(container.uuid)
            return
        reserved = self._reserve(container, key, force=force)
        self._record_action(ctx, container, "delete")
        message = ContainerOperation(
            uuid=container.uuid,
            operation="delete",
            request_id=ctx.request_id,
            force=force or stop,
            stop_first=stop and container.status is Status.RUNNING,
            timeout=10 if stop else None,
        )
        self._cast(reserved, container.host, message)

    def _host_of(self, container: Container) -> str:
        if container.host is None:
            raise InvalidRequest(
                f"Container {container.uuid} was never placed on a host "
                f"({container.status_reason or 'no reason recorded'}); delete it."
            )
        return container.host

    def _reserve(self, container: Container, action: str, force: bool) -> Container:
        """Compare-and-swap the record into the action's task state; 409 if it moved."""
        task, status = IN_FLIGHT[action]
        values: dict[str, Any] = {"task_state": task, "status_reason": None}
        if status is not None:
            values["status"] = status
        reserved = self.containers.update(
            container.uuid, values, status_in=ALLOWED[action], task_state=None if force else IDLE
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

    def _cast(self, reserved: Container, host: str, message: ContainerOperation) -> None:
        try:
            self.compute.operate(host, message)
        except DockyardError:
            # Undo the reservation so the container is not stuck in a task state.
            self.containers.update(
                reserved.uuid,
                {"task_state": None, "status": reserved.status},
                task_state=reserved.task_state,
            )
            raise

    def _record_action(self, ctx: RequestContext, container: Container, action: str) -> None:
        self.actions.start(
            ContainerAction(
                action=action,
                container_uuid=container.uuid,
                request_id=ctx.request_id,
                user_id=ctx.user_id,
                project_id=ctx.project_id,
                start_time=utcnow(),
            )
        )

    # -- synchronous calls -------------------------------------------------

    def logs(self, ctx: RequestContext, ident: str, options: LogOptions) -> str:
        container = self.get(ctx, ident)
        _require_state("logs", container)
        return self.compute.logs(self._host_of(container), container.uuid, options)

    def execute(self, ctx: RequestContext, ident: str, command: str) -> ExecResult:
        container = self.get(ctx, ident)
        _require_state("execute", container)
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise InvalidInput(f"command: cannot parse {command!r}: {exc}.") from exc
        if not argv:
            raise InvalidInput("command: must name a program to run.")
        return self.compute.execute(self._host_of(container), container.uuid, argv)

    # -- record-only changes -----------------------------------------------

    def update(self, ctx: RequestContext, ident: str, values: Mapping[str, Any]) -> Container:
        container = self.get(ctx, ident)
        _require_state("update", container)
        if "cpu" in values or "memory" in values:
            raise InvalidInput(
                "cpu/memory: changing the limits of an existing container is not "
                "supported yet; only name and auto_heal can be updated."
            )
        return self._save(container, values)

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
