"""The control side gives a container's ports back when its create fails or it is gone."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from dockyard.domain.addresses import addresses_of
from dockyard.domain.container_request import ExposedPort
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.models import Container
from dockyard.domain.networks import NetRequest
from dockyard.domain.reports import ContainerChange
from dockyard.domain.security_groups import Protocol
from dockyard.drivers.network.base import Caller
from dockyard.rpc.messages import ContainerReport
from dockyard.service.control import ControlService
from tests.fakes.networks import FakeNetworks

UUID = "0b7a3f4e-3333-4c2d-9e3f-000000000001"


class Records:
    """Just enough of ContainerRepository: one dict of records, reports always apply."""

    def __init__(self, *records: Container) -> None:
        self.records = {r.uuid: r for r in records}
        self.released: list[str] = []

    def apply(self, uuid: str, change: ContainerChange, **_: Any) -> bool:
        return uuid in self.records

    def release_claim(self, uuid: str) -> bool:
        self.released.append(uuid)
        return True

    def find(self, uuid: str) -> Container | None:
        return self.records.get(uuid)

    def update(self, uuid: str, values: dict[str, Any]) -> Container:
        self.records[uuid] = dataclasses.replace(self.records[uuid], **values)
        return self.records[uuid]

    def destroy(self, uuid: str) -> bool:
        return self.records.pop(uuid, None) is not None


def attached() -> tuple[ControlService, Records, FakeNetworks, str]:
    """A container holding a port made for it and a user's port; the user's port id."""
    networks = FakeNetworks()
    caller = Caller("p")
    networks.resolve(caller, ())
    other = networks.add_network("p", "db", "10.40.0.0/24")
    own = networks.add_port("p", other, "10.40.0.7", name="mine")
    attachments = networks.resolve(caller, (NetRequest(network="private"), NetRequest(port="mine")))
    ports = networks.make_ports(UUID, "h1", attachments, ())
    record = Container(
        uuid=UUID,
        name="web",
        project_id="p",
        user_id="u",
        image="busybox",
        host="h1",
        addresses=addresses_of(ports, {own.id}),
    )
    records = Records(record)
    service = ControlService(
        cast(Any, records), cast(Any, None), cast(Any, None), networks=networks
    )
    return service, records, networks, own.id


def test_a_failed_create_releases_its_ports_and_forgets_its_addresses() -> None:
    service, records, networks, own = attached()

    service.report(ContainerReport(UUID, ContainerChange.failed("boom"), release_claim=True))

    assert records.released == [UUID]
    assert list(networks.ports) == [own]
    assert networks.ports[own].device_id == ""
    assert records.records[UUID].addresses is None
    assert networks.firewall_for_host("h1") == HostFirewall()


def test_a_removed_container_gives_back_its_ports_and_keeps_the_users() -> None:
    service, records, networks, own = attached()

    service.container_removed(UUID)

    assert records.records == {}
    assert list(networks.ports) == [own]
    assert (networks.ports[own].device_id, networks.ports[own].host) == ("", "")
    assert networks.networks_for_host("h1") == ()


def test_a_report_that_keeps_the_claim_keeps_the_ports() -> None:
    service, _, networks, _ = attached()

    service.report(ContainerReport(UUID, ContainerChange(reason="resize failed")))

    assert len(networks.ports) == 2
    assert networks.released == []


def test_without_networking_the_host_holds_nothing() -> None:
    service = ControlService(cast(Any, Records()), cast(Any, None), cast(Any, None))

    assert (service.host_networks("h1"), service.host_firewall("h1")) == ([], HostFirewall())


def exposing() -> tuple[ControlService, Records, FakeNetworks]:
    """A container with exposed_ports: its own group, and a port in it."""
    networks = FakeNetworks()
    group = networks.make_exposed_ports_group(UUID, "web", "p", [(80, Protocol.TCP)])
    ports = networks.make_ports(UUID, "h1", networks.resolve(Caller("p"), ()), (group.id,))
    record = Container(
        uuid=UUID,
        name="web",
        project_id="p",
        user_id="u",
        image="busybox",
        host="h1",
        addresses=addresses_of(ports, set()),
        exposed_ports=(ExposedPort(80),),
        security_groups=[group.id],
    )
    records = Records(record)
    service = ControlService(
        cast(Any, records), cast(Any, None), cast(Any, None), networks=networks
    )
    return service, records, networks


def test_a_failed_create_removes_the_containers_own_group_after_its_ports() -> None:
    service, _, networks = exposing()

    service.report(ContainerReport(UUID, ContainerChange.failed("boom"), release_claim=True))

    assert (networks.ports, networks.groups, networks.released_groups) == ({}, {}, [UUID])


def test_a_removed_container_takes_its_own_group_along() -> None:
    service, records, networks = exposing()

    service.container_removed(UUID)

    assert (records.records, networks.ports, networks.groups) == ({}, {}, {})
