"""network_attach / network_detach: one more network for a container, or one fewer.

Resolution is the create's (``NetworkDriver.resolve``); the port is made, the
host's agent plugs the container in, and the rules follow. Whatever fails after
the port was made gives it back.
"""

from __future__ import annotations

from dockyard.db.repositories.containers import ContainerRepository
from dockyard.domain.addresses import addresses_of, held_ports
from dockyard.domain.errors import InvalidInput, InvalidState
from dockyard.domain.models import Container, RequestContext
from dockyard.domain.networks import NetRequest, parse_address
from dockyard.drivers.network.base import Caller, NetworkDriver, realised_on
from dockyard.rpc.api import ComputeAPI
from dockyard.rpc.messages import AttachNetwork
from dockyard.service.firewall_push import FirewallPush
from dockyard.service.tunnel_push import TunnelPush


def _host(container: Container) -> str:
    if not container.host:
        raise InvalidState(f"Container {container.uuid} is on no host: nothing to plug in.")
    return container.host


class ContainerNetworks:
    def __init__(
        self, containers: ContainerRepository, driver: NetworkDriver, compute: ComputeAPI
    ) -> None:
        self.containers = containers
        self.driver = driver
        self.compute = compute
        self.push = FirewallPush(driver, compute)
        self.tunnels = TunnelPush(driver, compute)

    def attach(
        self,
        ctx: RequestContext,
        container: Container,
        network: str | None,
        port: str | None,
        fixed_ip: str | None,
    ) -> Container:
        host = _host(container)
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
            message = AttachNetwork(
                container.uuid,
                realised_on(self.driver, host, (attachment,))[0],
                made,
                aliases=tuple(dict.fromkeys(n for n in (container.name, container.hostname) if n)),
                firewall=self.driver.firewall_for_host(host),
            )
            self.compute.attach_network(host, message)
        except Exception:
            self.driver.release_ports(container.uuid, (made,))
            self.push((host,))
            raise
        updated = self.containers.update(container.uuid, {"addresses": addresses})
        self.tunnels((attachment.network.id,), skip=host)
        return updated or container

    def detach(
        self, ctx: RequestContext, container: Container, network: str | None, port: str | None
    ) -> Container:
        host = _host(container)
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
        for network_id in dict.fromkeys(h.port.network_id for h in gone):
            self.compute.detach_network(host, container.uuid, network_id)
        self.driver.release_ports(container.uuid, [h.port for h in gone])
        self.push((host,))
        self.tunnels({h.port.network_id for h in gone}, also=(host,))
        kept = [h for h in held if h not in gone]
        addresses = addresses_of(
            [h.port for h in kept], {h.port.id for h in kept if h.preserve_on_delete}
        )
        updated = self.containers.update(container.uuid, {"addresses": addresses or None})
        return updated or container

    def _network_id(self, caller: Caller, name: str) -> str:
        """The id of the network named ``name`` (404 unknown, 409 ambiguous)."""
        (attachment,) = self.driver.resolve(caller, (NetRequest(network=name),))
        return attachment.network.id
