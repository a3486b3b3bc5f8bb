"""network_attach / network_detach over the in-memory driver and a recording agent."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from dockyard.domain.addresses import addresses_of
from dockyard.domain.errors import Conflict, InvalidInput, InvalidState, NotFound, Unavailable
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.models import Container, RequestContext
from dockyard.drivers.network.base import Caller
from dockyard.rpc.messages import AttachNetwork
from dockyard.service.container_networks import ContainerNetworks
from tests.fakes.networks import FakeNetworks

CTX = RequestContext("req-1", "u", "p")
UUID = "c-1"


class Agent:
    def __init__(self) -> None:
        self.attached: list[AttachNetwork] = []
        self.detached: list[tuple[str, str]] = []
        self.firewalls: list[HostFirewall] = []
        #: Hosts told that a member of their networks came or went.
        self.told: list[str] = []
        self.refuse: Exception | None = None

    def attach_network(self, host: str, message: AttachNetwork) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.attached.append(message)

    def detach_network(self, host: str, uuid: str, network_id: str) -> None:
        self.detached.append((uuid, network_id))

    def apply_firewall(self, host: str, firewall: HostFirewall) -> None:
        self.firewalls.append(firewall)

    def networks_changed(self, host: str) -> None:
        self.told.append(host)


class Records:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def update(self, uuid: str, values: dict[str, Any]) -> None:
        self.values.update(values)


def setup() -> tuple[ContainerNetworks, FakeNetworks, Agent, Records, Container]:
    networks, agent, records = FakeNetworks(), Agent(), Records()
    (first,) = networks.resolve(Caller("p"), ())
    (port,) = networks.make_ports(UUID, "h1", (first,), ())
    networks.add_network("p", "extra", "10.50.0.0/24")
    container = Container(
        uuid=UUID,
        name="web",
        project_id="p",
        user_id="u",
        image="i",
        host="h1",
        addresses=addresses_of((port,)),
    )
    service = ContainerNetworks(cast(Any, records), networks, cast(Any, agent))
    return service, networks, agent, records, container


def test_attach_makes_the_port_and_has_the_agent_plug_it_with_the_rules() -> None:
    service, networks, agent, records, container = setup()

    service.attach(CTX, container, "extra", None, "10.50.0.40")

    [message] = agent.attached
    assert message.port.fixed_ips[0].ip_address == "10.50.0.40"
    assert message.aliases == ("web",)
    assert message.firewall is not None
    assert len(records.values["addresses"]) == 2
    assert networks.ports[message.port.id].device_id == UUID


@pytest.mark.parametrize(
    ("network", "port", "fixed_ip", "error"),
    [
        ("nowhere", None, None, NotFound),
        ("private", None, None, InvalidInput),
        ("extra", None, "10.99.0.1", InvalidInput),
    ],
    ids=["unknown", "already-attached", "fixed-ip-elsewhere"],
)
def test_attach_refusals_make_nothing(
    network: str, port: str | None, fixed_ip: str | None, error: type[Exception]
) -> None:
    service, networks, agent, records, container = setup()
    if fixed_ip == "10.99.0.1":
        networks.refuse_ports = InvalidInput("10.99.0.1 is not in the network's subnets.")
    before = dict(networks.ports)

    with pytest.raises(error):
        service.attach(CTX, container, network, port, fixed_ip)

    assert (networks.ports, agent.attached, records.values) == (before, [], {})


def test_an_attach_the_agent_refuses_gives_the_port_back() -> None:
    service, networks, agent, records, container = setup()
    agent.refuse = Unavailable("The agent of host h1 is not reachable.")
    before = dict(networks.ports)

    with pytest.raises(Unavailable):
        service.attach(CTX, container, "extra", None, None)

    assert (networks.ports, records.values) == (before, {})
    assert len(agent.firewalls) == 1


def test_detach_unplugs_and_releases_the_port() -> None:
    service, networks, agent, records, container = setup()
    [network_id] = container.addresses or {}

    service.detach(CTX, container, "private", None)

    assert agent.detached == [(UUID, network_id)]
    assert networks.ports == {}
    assert records.values == {"addresses": None}
    assert agent.firewalls == [HostFirewall()]
    # The container's host may hold a tunnel for the network no more.
    assert agent.told == [container.host]


@pytest.mark.parametrize(
    ("network", "port", "error"),
    [("extra", None, InvalidInput), (None, "port-x", InvalidInput), ("nowhere", None, NotFound)],
    ids=["network-not-attached", "port-not-attached", "unknown-network"],
)
def test_detach_refusals_change_nothing(
    network: str | None, port: str | None, error: type[Exception]
) -> None:
    service, networks, agent, records, container = setup()
    before = dict(networks.ports)

    with pytest.raises(error):
        service.detach(CTX, container, network, port)

    assert (networks.ports, agent.detached, records.values) == (before, [], {})


def test_a_container_on_no_host_cannot_be_plugged() -> None:
    service, _, agent, _, container = setup()

    with pytest.raises(InvalidState):
        service.attach(CTX, dataclasses.replace(container, host=None), None, None, None)
    assert agent.attached == []


def test_an_ambiguous_network_name_is_a_conflict() -> None:
    service, networks, _, _, container = setup()
    networks.add_network("p", "extra", "10.51.0.0/24")

    with pytest.raises(Conflict):
        service.attach(CTX, container, "extra", None, None)
