"""network_attach / network_detach: one more network for a container, or one fewer.

Zun's way: the API resolves and checks everything (the 4xx answers), then the
owning agent does the work while the container shows ``network_attaching`` /
``network_detaching``, and the action log records the operation and its outcome.

The record is the desired state: an attach stores the new port in ``addresses``
with the task state (the agent realises the network, applies the rules and plugs
the container in; a failure takes the port back off); a detach leaves the record
alone until the agent has unplugged the container (then the port goes). An agent
that dies midway leaves a task state its reconcile loop finishes by making the
engine agree with the record again.
"""

from __future__ import annotations

from dockyard.domain.addresses import addresses_of, held_ports
from dockyard.domain.errors import InvalidInput
from dockyard.domain.models import Container, RequestContext
from dockyard.domain.networks import NetRequest, parse_address
from dockyard.drivers.network.base import Caller, NetworkDriver
from dockyard.service.containers import ContainerService
from dockyard.service.tunnel_push import TunnelPush


class ContainerNetworks:
    def __init__(self, lifecycle: ContainerService, driver: NetworkDriver) -> None:
        self.lifecycle = lifecycle
        self.driver = driver
        # The other hosts with members learn at once (the conductor tells them of a
        # detach, once the agent has unplugged and the port is gone).
        self.tunnels = TunnelPush(driver, lifecycle.compute)

    def attach(
        self,
        ctx: RequestContext,
        container: Container,
        network: str | None,
        port: str | None,
        fixed_ip: str | None,
    ) -> Container:
        host = self.lifecycle.check_host(container)
        caller = Caller(container.project_id, may_attach_external=ctx.may_attach_external)
        requests: tuple[NetRequest, ...] = ()
        if network is not None or port is not None:
            version = parse_address(fixed_ip, "fixed_ip").version if fixed_ip else None
            requests = (
                NetRequest(
                    network=network,
                    port=port,
                    v4_fixed_ip=fixed_ip if version == 4 else None,
                    v6_fixed_ip=fixed_ip if version == 6 else None,
                ),
            )
        (attachment,) = self.driver.resolve(caller, requests)
        if attachment.network.id in (container.addresses or {}):
            raise InvalidInput(
                f"Container {container.uuid} is already attached to network "
                f"{attachment.network.id}.",
                field="network",
            )
        held = held_ports(container.project_id, container.addresses)
        (made,) = self.driver.make_ports(
            container.uuid, host, (attachment,), container.security_groups
        )
        try:
            preserved = {h.port.id for h in held if h.preserve_on_delete}
            if attachment.preserve_on_delete:
                preserved.add(made.id)
            addresses = addresses_of([*(h.port for h in held), made], preserved)
            attached = self.lifecycle.operate_on(
                ctx,
                container,
                "network_attach",
                record={"addresses": addresses},
                network_id=made.network_id,
            )
        except Exception:
            # Refused (busy, host down): the port goes back, nothing was plugged.
            self.driver.release_ports(container.uuid, (made,))
            raise
        self.tunnels((attachment.network.id,))
        return attached

    def detach(
        self, ctx: RequestContext, container: Container, network: str | None, port: str | None
    ) -> Container:
        self.lifecycle.check_host(container)
        held = held_ports(container.project_id, container.addresses)
        if port is not None:
            gone = [h for h in held if h.port.id == port]
        else:
            assert network is not None
            network_id = network
            if network not in (container.addresses or {}):
                caller = Caller(container.project_id, may_attach_external=True)
                network_id = self._network_id(caller, network)
            gone = [h for h in held if h.port.network_id == network_id]
        if not gone:
            what = f"port {port}" if port is not None else f"network {network}"
            raise InvalidInput(
                f"Container {container.uuid} is not attached to {what}.",
                field="port" if port is not None else "network",
            )
        # A port is the container's only one on its network: detaching it is detaching
        # that network.
        return self.lifecycle.operate_on(
            ctx, container, "network_detach", network_id=gone[0].port.network_id
        )

    def _network_id(self, caller: Caller, name: str) -> str:
        """The id of the network named ``name`` (404 unknown, 409 ambiguous)."""
        (attachment,) = self.driver.resolve(caller, (NetRequest(network=name),))
        return attachment.network.id
