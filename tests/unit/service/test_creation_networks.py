"""The create flow's network step: resolve before anything is made, ports after the claim.

Over the in-memory network driver; the real one and a real engine are exercised by
tests/integration/test_networks_e2e.py.
"""

from __future__ import annotations

import random
from typing import Any, cast

import pytest

from dockyard.domain.container_request import ExposedPort, Protocol, PullPolicy
from dockyard.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from dockyard.domain.models import Container, RequestContext
from dockyard.domain.networks import NetRequest
from dockyard.domain.security_groups import Direction
from dockyard.domain.security_groups import Protocol as GroupProtocol
from dockyard.service.creation import ContainerCreator, CreateDefaults
from tests.factories import asked
from tests.fakes.clock import FakeClock
from tests.fakes.networks import FakeNetworks
from tests.unit.service.test_creation import Compute, Containers, Hosts, host

CTX = RequestContext("req-1", "user-1", "project-1")


class NotedContainers(Containers):
    """Claims always succeed; ``update`` notes values on the stored record."""

    def update(self, uuid: str, values: dict[str, Any]) -> Container | None:
        for index, record in enumerate(self.stored):
            if record.uuid == uuid:
                self.stored[index] = record = Container(**{**record.__dict__, **values})
                return record
        return None


def creator(
    networks: FakeNetworks | None,
) -> tuple[ContainerCreator, NotedContainers, Compute]:
    containers, compute = NotedContainers(), Compute()
    made = ContainerCreator(
        cast(Any, containers),
        cast(Any, Hosts([host()])),
        cast(Any, compute),
        CreateDefaults(cpu=1.0, memory=512, pull_policy=PullPolicy.IF_NOT_PRESENT),
        random.Random(7),
        FakeClock(),
        networks=networks,
    )
    return made, containers, compute


@pytest.fixture
def networks() -> FakeNetworks:
    return FakeNetworks()


def test_no_nets_attaches_the_projects_network_with_its_default_group(
    networks: FakeNetworks,
) -> None:
    made, containers, compute = creator(networks)

    record = made.create(CTX, asked(), run=True)

    [(_, msg)] = compute.created
    [port] = msg.ports
    [network] = msg.networks
    [default] = networks.groups.values()
    assert (default.name, port.network_id, network.network_id) == (
        "default",
        network.network_id,
        networks.networks[port.network_id].id,
    )
    assert (port.device_id, port.host, port.security_group_ids) == (
        record.uuid,
        "h1",
        (default.id,),
    )
    assert msg.firewall is not None
    assert [g.port_id for g in msg.firewall.ports] == [port.id]
    [stored] = containers.stored
    assert stored.security_groups == [default.id]
    assert stored.addresses == {
        port.network_id: [
            {
                "addr": port.fixed_ips[0].ip_address,
                "version": 4,
                "port": port.id,
                "subnet_id": port.fixed_ips[0].subnet_id,
                "preserve_on_delete": False,
            }
        ]
    }


def test_a_named_network_and_a_fixed_ip_are_honoured(networks: FakeNetworks) -> None:
    mine = networks.add_network("project-1", "web", "10.20.0.0/24")
    made, _, compute = creator(networks)

    made.create(CTX, asked(nets=(NetRequest(network="web", v4_fixed_ip="10.20.0.42"),)), False)

    [(_, msg)] = compute.created
    [port] = msg.ports
    assert (port.network_id, port.fixed_ips[0].ip_address) == (mine.id, "10.20.0.42")


def test_a_users_port_is_bound_and_marked_to_outlive_the_container(
    networks: FakeNetworks,
) -> None:
    net = networks.add_network("project-1", "web", "10.20.0.0/24")
    own = networks.add_port("project-1", net, "10.20.0.9", name="mine")
    made, containers, compute = creator(networks)

    record = made.create(CTX, asked(nets=(NetRequest(port="mine"),)), False)

    [(_, msg)] = compute.created
    assert [p.id for p in msg.ports] == [own.id]
    assert networks.ports[own.id].device_id == record.uuid
    [stored] = containers.stored
    assert stored.addresses is not None
    assert stored.addresses[net.id][0]["preserve_on_delete"] is True


@pytest.mark.parametrize(
    ("nets", "groups", "error"),
    [
        ((NetRequest(network="nowhere"),), (), NotFound),
        ((NetRequest(network="twice"),), (), Conflict),
        ((NetRequest(port="nothing"),), (), NotFound),
        ((NetRequest(port="theirs"),), (), InvalidInput),
        ((NetRequest(network="web", v4_fixed_ip="10.20.0.9"),), (), Conflict),
        ((NetRequest(network="web"), NetRequest(network="web")), (), InvalidInput),
        ((), ("no-such-group",), InvalidInput),
    ],
    ids=[
        "unknown-network",
        "ambiguous-network",
        "unknown-port",
        "port-of-another-project",
        "fixed-ip-taken",
        "same-network-twice",
        "unknown-group",
    ],
)
def test_what_cannot_be_resolved_is_refused_with_nothing_made(
    networks: FakeNetworks,
    nets: tuple[NetRequest, ...],
    groups: tuple[str, ...],
    error: type[Exception],
) -> None:
    web = networks.add_network("project-1", "web", "10.20.0.0/24")
    networks.add_network("project-1", "twice", "10.21.0.0/24")
    networks.add_network("project-1", "twice", "10.22.0.0/24")
    networks.add_port("project-1", web, "10.20.0.9", name="taken")
    other = networks.add_network("project-2", "theirs-net", "10.30.0.0/24")
    networks.add_port("project-2", other, "10.30.0.5", name="theirs")
    ports_before = dict(networks.ports)
    made, containers, compute = creator(networks)

    with pytest.raises(error):
        made.create(CTX, asked(nets=nets, security_groups=groups), True)

    assert containers.stored == []
    assert compute.created == []
    assert networks.ports == ports_before


def test_ports_that_cannot_be_made_leave_no_record(networks: FakeNetworks) -> None:
    networks.refuse_ports = Conflict("No more IP addresses available on subnet s.")
    made, containers, compute = creator(networks)

    with pytest.raises(Conflict):
        made.create(CTX, asked(), True)

    assert (containers.stored, compute.created, networks.ports) == ([], [], {})


def test_a_create_the_agent_cannot_get_gives_its_ports_back(networks: FakeNetworks) -> None:
    networks.add_network("project-1", "web", "10.20.0.0/24")
    db = networks.add_network("project-1", "db", "10.21.0.0/24")
    own = networks.add_port("project-1", db, "10.21.0.9", name="mine")
    made, containers, compute = creator(networks)
    compute.unreachable = Unavailable("The agent of host h1 is not reachable.")

    with pytest.raises(Unavailable):
        made.create(CTX, asked(nets=(NetRequest(network="web"), NetRequest(port="mine"))), True)

    assert containers.stored == []
    # The port made for it is gone, the user's one kept and unbound.
    assert list(networks.ports) == [own.id]
    assert networks.ports[own.id].device_id == ""


@pytest.mark.parametrize(
    "new",
    [asked(nets=(NetRequest(network="web"),)), asked(security_groups=("web",))],
    ids=["nets", "security_groups"],
)
def test_without_networking_nets_and_groups_are_refused(new: Any) -> None:
    made, containers, compute = creator(None)

    with pytest.raises(InvalidInput):
        made.create(CTX, new, True)

    assert (containers.stored, compute.created) == ([], [])


def test_without_networking_a_container_gets_no_ports() -> None:
    made, _, compute = creator(None)

    made.create(CTX, asked(), True)

    [(_, msg)] = compute.created
    assert (msg.ports, msg.networks, msg.firewall) == ((), (), None)


# --- exposed_ports: the container's own group ------------------------------------------


def test_exposed_ports_give_the_ports_the_containers_own_group_only(
    networks: FakeNetworks,
) -> None:
    made, containers, compute = creator(networks)
    exposed = (ExposedPort(8080), ExposedPort(53, Protocol.UDP))

    record = made.create(CTX, asked(name="web", exposed_ports=exposed), True)

    [(_, msg)] = compute.created
    [port] = msg.ports
    [group] = networks.groups.values()  # no default group was made
    assert (group.name, group.project_id) == ("web-exposed-ports", "project-1")
    assert port.security_group_ids == (group.id,)
    assert containers.stored[0].security_groups == [group.id]
    assert record.security_groups == [group.id]
    opened = {
        (r.protocol, r.port_range_min) for r in group.rules if r.direction is Direction.INGRESS
    }
    assert opened == {(GroupProtocol.TCP, 8080), (GroupProtocol.UDP, 53)}
    # The firewall the agent gets already holds it.
    assert msg.firewall is not None
    [guarded] = msg.firewall.ports
    assert any(r.port_range_min == 8080 for r in guarded.rules)


def test_a_create_whose_ports_fail_takes_its_own_group_back(networks: FakeNetworks) -> None:
    networks.refuse_ports = Conflict("No more IP addresses available on subnet s.")
    made, containers, _ = creator(networks)

    with pytest.raises(Conflict):
        made.create(CTX, asked(exposed_ports=(ExposedPort(80),)), True)

    assert (containers.stored, networks.groups) == ([], {})


def test_a_create_the_agent_cannot_get_takes_its_own_group_back(
    networks: FakeNetworks,
) -> None:
    made, containers, compute = creator(networks)
    compute.unreachable = Unavailable("The agent of host h1 is not reachable.")

    with pytest.raises(Unavailable):
        made.create(CTX, asked(exposed_ports=(ExposedPort(80),)), True)

    assert (containers.stored, networks.ports, networks.groups) == ([], {}, {})


def test_a_group_that_cannot_be_made_leaves_nothing(networks: FakeNetworks) -> None:
    networks.refuse_groups = Unavailable("The network service is not reachable.")
    made, containers, compute = creator(networks)

    with pytest.raises(Unavailable):
        made.create(CTX, asked(exposed_ports=(ExposedPort(80),)), True)

    assert (containers.stored, compute.created, networks.ports) == ([], [], {})
