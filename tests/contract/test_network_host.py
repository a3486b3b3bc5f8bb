"""The local driver's host side against the real Docker Engine: bridge networks and plugs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from dockyard.domain.errors import Conflict, InvalidInput, NetworkInUse, NotFound
from dockyard.domain.models import LABEL_HOST
from dockyard.domain.networks import HostNetwork, Subnet, new_subnet
from dockyard.drivers.network.base import network_name
from dockyard.drivers.network.local.host import LABEL_INSTALLATION, LABEL_NETWORK_ID, BridgeHost
from tests.contract.network_support import Site, engine, free_cidr, host_network, port_on, site

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    made = engine()
    yield made
    made.close()


@pytest.fixture
def here(client: docker.DockerClient) -> Iterator[Site]:
    with site(client) as made:
        yield made


def addresses_of(site: Site, container: str, network: HostNetwork) -> tuple[str, str]:
    settings = site.client.api.inspect_container(container)["NetworkSettings"]["Networks"]
    config = settings[network_name(network.network_id)]["IPAMConfig"] or {}
    return config.get("IPv4Address", ""), config.get("IPv6Address", "")


def test_realise_makes_a_labelled_bridge_with_the_subnet_and_reuses_it(here: Site) -> None:
    network = host_network(free_cidr(here.client))
    runtime_id = here.host.realise(network)
    inspected = here.client.api.inspect_network(runtime_id)
    assert inspected["Name"] == network_name(network.network_id)
    assert inspected["Driver"] == "bridge"
    assert inspected["Labels"] == {
        LABEL_INSTALLATION: here.installation,
        LABEL_HOST: "nettest",
        LABEL_NETWORK_ID: network.network_id,
    }
    subnet = network.subnets[0]
    assert inspected["IPAM"]["Config"] == [{"Subnet": subnet.cidr, "Gateway": subnet.gateway_ip}]
    assert inspected["Options"]["com.docker.network.driver.mtu"] == "1500"
    assert here.host.realise(network) == runtime_id
    (realised,) = here.host.realised()
    assert (realised.network_id, realised.runtime_id, realised.cidrs) == (
        network.network_id,
        runtime_id,
        (subnet.cidr,),
    )


def test_realise_with_other_subnets_than_the_engine_holds_is_a_conflict(here: Site) -> None:
    network = host_network(free_cidr(here.client))
    here.host.realise(network)
    moved = host_network(free_cidr(here.client))
    with pytest.raises(Conflict, match="has subnets"):
        here.host.realise(HostNetwork(network.network_id, moved.subnets))


def test_realise_never_adopts_a_network_that_is_not_this_installations(
    here: Site, client: docker.DockerClient
) -> None:
    network = host_network(free_cidr(client))
    other = BridgeHost(client, "nettest", f"other-{uuid.uuid4().hex[:8]}")
    other.realise(network)  # labelled with the throw-away installation's... not ours
    for summary in client.api.networks(filters={"name": network_name(network.network_id)}):
        client.api.remove_network(summary["Id"])
    client.api.create_network(
        network_name(network.network_id),
        driver="bridge",
        labels={LABEL_INSTALLATION: here.installation},  # ours to clean, but no host/id labels
    )
    with pytest.raises(Conflict, match="is not this Dockyard's"):
        here.host.realise(network)
    here.host.remove(network.network_id)  # not ours: left alone
    assert client.api.inspect_network(network_name(network.network_id))


def test_a_subnet_the_engine_already_uses_is_a_conflict_naming_it(here: Site) -> None:
    first = host_network(free_cidr(here.client))
    here.host.realise(first)
    overlapping = host_network(first.subnets[0].cidr)
    with pytest.raises(Conflict, match="overlaps"):
        here.host.realise(overlapping)
    assert [r.network_id for r in here.host.realised()] == [first.network_id]


def test_a_subnet_without_gateway_cannot_be_a_bridge(here: Site) -> None:
    network_id = str(uuid.uuid4())
    subnet = new_subnet(
        id="s", network_id=network_id, project_id="p", cidr=free_cidr(here.client), gateway_ip=None
    )
    with pytest.raises(InvalidInput, match="no gateway"):
        here.host.realise(HostNetwork(network_id, (subnet,)))
    assert here.host.realised() == ()


def test_plug_gives_the_ports_address_and_is_idempotent(here: Site) -> None:
    network = host_network(free_cidr(here.client))
    here.host.realise(network)
    container = here.container()
    address = network.subnets[0].allocation_pools[0].start
    port = port_on(network, address)
    here.host.plug(container, network, port, aliases=("web",))
    here.host.plug(container, network, port)
    assert addresses_of(here, container, network) == (address, "")
    here.client.api.start(container)
    settings = here.client.api.inspect_container(container)["NetworkSettings"]["Networks"]
    assert settings[network_name(network.network_id)]["IPAddress"] == address
    assert "web" in settings[network_name(network.network_id)]["Aliases"]
    other = port_on(network, network.subnets[0].allocation_pools[0].end)
    with pytest.raises(Conflict, match="with addresses"):
        here.host.plug(container, network, other)


def test_plug_an_address_a_running_container_holds_is_a_conflict(here: Site) -> None:
    network = host_network(free_cidr(here.client))
    here.host.realise(network)
    address = network.subnets[0].allocation_pools[0].start
    first, second = here.container(), here.container()
    here.host.plug(first, network, port_on(network, address))
    here.client.api.start(first)
    here.client.api.start(second)
    with pytest.raises(Conflict):
        here.host.plug(second, network, port_on(network, address))


def test_plug_a_missing_container_is_not_found(here: Site) -> None:
    network = host_network(free_cidr(here.client))
    here.host.realise(network)
    with pytest.raises(NotFound):
        here.host.plug("dockyard-nettest-gone", network, port_on(network, "10.0.0.2"))


def test_plug_into_a_network_not_realised_is_not_found(here: Site) -> None:
    network = host_network(free_cidr(here.client))
    with pytest.raises(NotFound, match="not realised"):
        here.host.plug(here.container(), network, port_on(network, "10.0.0.2"))


def test_dual_stack_plug(here: Site) -> None:
    network_id = str(uuid.uuid4())
    v4 = new_subnet(id="s4", network_id=network_id, project_id="p", cidr=free_cidr(here.client))
    v6cidr = f"fd00:dead:{uuid.uuid4().int % 65536:x}::/64"
    v6: Subnet = new_subnet(id="s6", network_id=network_id, project_id="p", cidr=v6cidr)
    network = HostNetwork(network_id, (v4, v6))
    here.host.realise(network)
    container = here.container()
    wanted = (v4.allocation_pools[0].start, v6.allocation_pools[0].start)
    here.host.plug(container, network, port_on(network, *wanted))
    assert addresses_of(here, container, network) == wanted
    assert here.client.api.inspect_network(network_name(network_id))["EnableIPv6"] is True


def test_unplug_and_remove(here: Site) -> None:
    network = host_network(free_cidr(here.client))
    here.host.realise(network)
    container = here.container()
    here.host.plug(
        container, network, port_on(network, network.subnets[0].allocation_pools[0].start)
    )
    with pytest.raises(NetworkInUse):  # created, not started: the engine has no endpoint yet
        here.host.remove(network.network_id)
    (realised,) = here.host.realised()
    assert realised.containers == (here.client.api.inspect_container(container)["Id"],)
    here.client.api.start(container)
    with pytest.raises(NetworkInUse):
        here.host.remove(network.network_id)
    here.host.unplug(container, network.network_id)
    here.host.unplug(container, network.network_id)
    here.host.unplug("dockyard-nettest-no-such-container", network.network_id)
    here.host.unplug(container, str(uuid.uuid4()))
    here.host.remove(network.network_id)
    here.host.remove(network.network_id)
    with pytest.raises(docker.errors.NotFound):
        here.client.api.inspect_network(network_name(network.network_id))
    assert here.host.realised() == ()


def test_realised_lists_only_this_installation_and_host(
    here: Site, client: docker.DockerClient
) -> None:
    mine = host_network(free_cidr(client))
    here.host.realise(mine)
    with contextlib.ExitStack() as stack:
        for host, installation in (("elsewhere", here.installation), ("nettest", "another")):
            other = BridgeHost(client, host, installation)
            theirs = host_network(free_cidr(client))
            other.realise(theirs)
            stack.callback(client.api.remove_network, network_name(theirs.network_id))
        assert [r.network_id for r in here.host.realised()] == [mine.network_id]
