"""add_security_group / remove_security_group: resolution, refusals, the ports changed."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from dockyard.domain.addresses import addresses_of
from dockyard.domain.errors import Conflict, InvalidInput, InvalidState
from dockyard.domain.models import Container, RequestContext
from dockyard.domain.networks import FixedIP, Port
from dockyard.domain.states import Status
from dockyard.drivers.network.base import Caller
from dockyard.service.container_groups import ContainerGroups
from tests.fakes.networks import FakeNetworks

CTX = RequestContext("req-1", "u", "p")
MADE = Port("port-made", "p", "net-1", "", (FixedIP("s", "10.0.0.5"),))
USERS = Port("port-user", "p", "net-2", "", (FixedIP("s2", "10.0.1.5"),))


class Ports:
    def __init__(self) -> None:
        self.updated: list[tuple[str, tuple[str, ...]]] = []

    def update_port(
        self, ctx: RequestContext, port_id: str, values: dict[str, Any], security_groups: Any
    ) -> None:
        assert ctx.project_id == "p"
        self.updated.append((port_id, tuple(security_groups)))


class Records:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def update(self, uuid: str, values: dict[str, Any]) -> None:
        self.values.update(values)


def setup(
    status: Status = Status.RUNNING,
) -> tuple[ContainerGroups, FakeNetworks, Ports, Records, Container]:
    networks, ports, records = FakeNetworks(), Ports(), Records()
    default = networks.resolve_security_groups(Caller("p"), ())[0]
    networks.add_group("p", "web")
    networks.add_group("p", "twin")
    networks.add_group("p", "twin")
    networks.add_group("q", "theirs")
    container = Container(
        uuid="c-1",
        name="c",
        project_id="p",
        user_id="u",
        image="i",
        status=status,
        security_groups=[default.id],
        addresses=addresses_of((MADE, USERS), {USERS.id}),
    )
    service = ContainerGroups(cast(Any, records), networks, cast(Any, ports))
    return service, networks, ports, records, container


def test_adding_a_group_puts_it_on_the_ports_made_for_the_container() -> None:
    service, networks, ports, records, container = setup()
    [web] = [g for g in networks.groups.values() if g.name == "web"]

    service.add(CTX, container, "web")

    assert ports.updated == [(MADE.id, (*container.security_groups, web.id))]
    assert records.values == {"security_groups": [*container.security_groups, web.id]}


def test_removing_a_group_takes_it_off() -> None:
    service, _, ports, records, container = setup()

    service.remove(CTX, container, container.security_groups[0])

    assert ports.updated == [(MADE.id, ())]
    assert records.values == {"security_groups": []}


@pytest.mark.parametrize(
    ("verb", "name", "error"),
    [
        ("add", "nope", InvalidInput),
        ("add", "theirs", InvalidInput),
        ("add", "twin", Conflict),
        ("add", "default", InvalidInput),
        ("remove", "web", InvalidInput),
    ],
    ids=["unknown", "other-project", "ambiguous", "already-on", "not-on"],
)
def test_refusals_change_nothing(verb: str, name: str, error: type[Exception]) -> None:
    service, _, ports, records, container = setup()

    with pytest.raises(error):
        getattr(service, verb)(CTX, container, name)

    assert (ports.updated, records.values) == ([], {})


def test_a_container_being_deleted_is_refused() -> None:
    service, _, ports, _, container = setup()
    gone = dataclasses.replace(container, status=Status.DELETED)

    with pytest.raises(InvalidState):
        service.add(CTX, gone, "web")
    assert ports.updated == []


def test_a_backend_keeping_its_own_ports_changes_them_there() -> None:
    service, networks, ports, records, container = setup()
    changed: list[tuple[list[str], list[str]]] = []
    service.set_port_groups = lambda ids, groups: changed.append((list(ids), list(groups)))
    [web] = [g for g in networks.groups.values() if g.name == "web"]

    service.add(CTX, container, "web")

    assert changed == [([MADE.id], [*container.security_groups, web.id])]
    assert ports.updated == []
    assert records.values == {"security_groups": [*container.security_groups, web.id]}
