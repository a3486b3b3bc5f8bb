"""A container's security groups after its create: add one, remove one (Zun 1.1–1.14).

The groups live on the container's ports. The API checks the request, changes
the ports' groups (pushed at once to the hosts whose rules name them) and the
record's ``security_groups``, then the owning agent applies its host's rules while
the container shows ``sg_adding`` / ``sg_removing``; the action log records the
operation and its outcome (Zun: asynchronous, 202).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dockyard.domain.addresses import held_ports
from dockyard.domain.errors import Conflict, InvalidInput, InvalidState
from dockyard.domain.models import Container, RequestContext
from dockyard.domain.states import allowed
from dockyard.drivers.network.base import Caller, NetworkDriver
from dockyard.service.containers import ContainerService
from dockyard.service.networks import NetworkService

#: Sets the security groups of ports a backend keeps itself (Neutron), by port id.
SetPortGroups = Callable[[Sequence[str], Sequence[str]], None]


class ContainerGroups:
    def __init__(
        self,
        lifecycle: ContainerService,
        driver: NetworkDriver,
        networks: NetworkService,
        set_port_groups: SetPortGroups | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self.driver = driver
        self.networks = networks
        #: Given: the ports are not Dockyard's records, their groups change there.
        self.set_port_groups = set_port_groups

    def _group_id(self, ctx: RequestContext, container: Container, ident: str) -> str:
        """The group ``ident`` names in the container's project: missing → 400, several → 409."""
        caller = Caller(container.project_id, may_attach_external=ctx.may_attach_external)
        (group,) = self.driver.resolve_security_groups(caller, (ident,))
        return group.id

    def add(self, ctx: RequestContext, container: Container, ident: str) -> Container:
        _require_state("add_security_group", container)
        group_id = self._group_id(ctx, container, ident)
        if group_id in container.security_groups:
            raise InvalidInput(
                f"Security group {ident} is already on container {container.uuid}.", field="name"
            )
        return self._set(
            ctx, container, "add_security_group", [*container.security_groups, group_id]
        )

    def remove(self, ctx: RequestContext, container: Container, ident: str) -> Container:
        _require_state("remove_security_group", container)
        group_id = self._group_id(ctx, container, ident)
        if group_id not in container.security_groups:
            raise InvalidInput(
                f"Security group {ident} is not on container {container.uuid}.", field="name"
            )
        kept = [g for g in container.security_groups if g != group_id]
        return self._set(ctx, container, "remove_security_group", kept)

    def _set(
        self, ctx: RequestContext, container: Container, action: str, group_ids: list[str]
    ) -> Container:
        self.lifecycle.check_host(container)
        if container.task_state is not None:
            raise Conflict(
                f"Container {container.uuid} is busy ({container.task_state}); "
                "retry when that operation has finished."
            )
        before = list(container.security_groups)
        self._set_ports(ctx, container, group_ids)
        try:
            return self.lifecycle.operate_on(
                ctx, container, action, record={"security_groups": group_ids}
            )
        except Exception:
            # Refused (another operation won the record, the agent is unreachable).
            self._set_ports(ctx, container, before)
            raise

    def _set_ports(self, ctx: RequestContext, container: Container, group_ids: list[str]) -> None:
        # As the container's owner: an admin acting on another project's container
        # changes that project's ports.
        owner = RequestContext(
            ctx.request_id, container.user_id, container.project_id, is_admin=ctx.is_admin
        )
        held = [
            h.port.id
            for h in held_ports(container.project_id, container.addresses)
            if not h.preserve_on_delete
        ]
        if self.set_port_groups is not None:
            self.set_port_groups(held, group_ids)
        else:
            for port_id in held:
                self.networks.update_port(owner, port_id, {}, security_groups=group_ids)


def _require_state(action: str, container: Container) -> None:
    if not allowed(action, container.status):
        raise InvalidState(
            f"Cannot {action} container {container.uuid} in {container.status} state."
        )
