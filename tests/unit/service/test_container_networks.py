"""network_attach / network_detach: what the API checks and what it hands the agent."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from dockyard.domain.addresses import addresses_of
from dockyard.domain.errors import Conflict, InvalidInput, InvalidState, NotFound, Unavailable
from dockyard.domain.models import Container, RequestContext
from dockyard.drivers.network.base import Caller
from dockyard.service.container_networks import ContainerNetworks
from tests.fakes.lifecycle import RecordingLifecycle
from tests.fakes.networks import FakeNetworks

CTX = RequestContext("req-1", "u", "p")
UUID = "c-1"


def setup() -> tuple[ContainerNetworks, FakeNetworks, RecordingLifecycle, Container]:
    networks, lifecycle = FakeNetworks(), RecordingLifecycle()
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
    service = ContainerNetworks(cast(Any, lifecycle), networks)
    return service, networks, lifecycle, container


def test_attach_makes_the_port_records_it_and_casts_the_plug_to_the_agent() -> None:
    service, networks, lifecycle, container = setup()

    service.attach(CTX, container, "extra", None, "10.50.0.40")

    [cast_] = lifecycle.casts
    assert cast_.action == "network_attach"
    [made] = [p for p in networks.ports.values() if p.network_id == cast_.params["network_id"]]
    assert made.fixed_ips[0].ip_address == "10.50.0.40"
    assert made.device_id == UUID
    assert set(cast_.record["addresses"]) == {*(container.addresses or {}), made.network_id}


def test_attach_tells_the_hosts_carrying_the_network_at_once() -> None:
    service, networks, lifecycle, container = setup()
    networks.member_hosts = lambda network_ids: {"h1", "h2"}  # type: ignore[method-assign]

    service.attach(CTX, container, "extra", None, None)

    assert sorted(lifecycle.compute.told) == ["h1", "h2"]


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
    service, networks, lifecycle, container = setup()
    if fixed_ip == "10.99.0.1":
        networks.refuse_ports = InvalidInput("10.99.0.1 is not in the network's subnets.")
    before = dict(networks.ports)

    with pytest.raises(error):
        service.attach(CTX, container, network, port, fixed_ip)

    assert (networks.ports, lifecycle.casts) == (before, [])


@pytest.mark.parametrize(
    "refusal",
    [Unavailable("The agent of host h1 is not reachable."), Conflict("busy (container_stopping)")],
    ids=["agent-unreachable", "busy"],
)
def test_an_attach_that_cannot_be_cast_gives_the_port_back(refusal: Exception) -> None:
    service, networks, lifecycle, container = setup()
    lifecycle.refuse = refusal
    before = dict(networks.ports)

    with pytest.raises(type(refusal)):
        service.attach(CTX, container, "extra", None, None)

    assert networks.ports == before


def test_detach_casts_the_unplug_and_leaves_the_port_to_the_agent() -> None:
    service, networks, lifecycle, container = setup()
    [network_id] = container.addresses or {}
    before = dict(networks.ports)

    service.detach(CTX, container, "private", None)

    [cast_] = lifecycle.casts
    assert (cast_.action, cast_.params, cast_.record) == (
        "network_detach",
        {"network_id": network_id},
        {},
    )
    assert networks.ports == before  # released once the agent has unplugged it


@pytest.mark.parametrize(
    ("network", "port", "error"),
    [("extra", None, InvalidInput), (None, "port-x", InvalidInput), ("nowhere", None, NotFound)],
    ids=["network-not-attached", "port-not-attached", "unknown-network"],
)
def test_detach_refusals_change_nothing(
    network: str | None, port: str | None, error: type[Exception]
) -> None:
    service, networks, lifecycle, container = setup()
    before = dict(networks.ports)

    with pytest.raises(error):
        service.detach(CTX, container, network, port)

    assert (networks.ports, lifecycle.casts) == (before, [])


def test_a_container_on_no_host_cannot_be_plugged() -> None:
    service, _, lifecycle, container = setup()

    with pytest.raises(InvalidState):
        service.attach(CTX, dataclasses.replace(container, host=None), None, None, None)
    assert lifecycle.casts == []


def test_an_ambiguous_network_name_is_a_conflict() -> None:
    service, networks, _, container = setup()
    networks.add_network("p", "extra", "10.51.0.0/24")

    with pytest.raises(Conflict):
        service.attach(CTX, container, "extra", None, None)
