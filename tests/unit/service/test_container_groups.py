"""add_security_group / remove_security_group: resolution, refusals, the ports changed."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from dockyard.domain.addresses import addresses_of
from dockyard.domain.errors import Conflict, InvalidInput, InvalidState, ServiceBusy
from dockyard.domain.models import Container, RequestContext
from dockyard.domain.networks import FixedIP, Port
from dockyard.domain.states import Status, TaskState
from dockyard.drivers.network.base import Caller
from dockyard.service.container_groups import ContainerGroups
from tests.fakes.lifecycle import RecordingLifecycle
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


def setup(
    status: Status = Status.RUNNING,
) -> tuple[ContainerGroups, FakeNetworks, Ports, RecordingLifecycle, Container]:
    networks, ports, records = FakeNetworks(), Ports(), RecordingLifecycle()
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
        host="h1",
        security_groups=[default.id],
        addresses=addresses_of((MADE, USERS), {USERS.id}),
    )
    service = ContainerGroups(cast(Any, records), networks, cast(Any, ports))
    return service, networks, ports, records, container


def _cast(lifecycle: RecordingLifecycle) -> tuple[str, list[str]]:
    [cast_] = lifecycle.casts
    return cast_.action, cast_.record["security_groups"]


def test_adding_a_group_puts_it_on_the_ports_made_for_the_container() -> None:
    service, networks, ports, records, container = setup()
    [web] = [g for g in networks.groups.values() if g.name == "web"]

    service.add(CTX, container, "web")

    assert ports.updated == [(MADE.id, (*container.security_groups, web.id))]
    assert _cast(records) == ("add_security_group", [*container.security_groups, web.id])


def test_removing_a_group_takes_it_off() -> None:
    service, _, ports, records, container = setup()

    service.remove(CTX, container, container.security_groups[0])

    assert ports.updated == [(MADE.id, ())]
    assert _cast(records) == ("remove_security_group", [])


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

    assert (ports.updated, records.casts) == ([], [])


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
    assert _cast(records) == ("add_security_group", [*container.security_groups, web.id])


@pytest.mark.parametrize(
    "refusal",
    [ServiceBusy("The agent of host h1 is busy."), Conflict("busy (container_stopping)")],
    ids=["agent-busy", "record-busy"],
)
def test_a_change_that_cannot_be_cast_puts_the_ports_groups_back(refusal: Exception) -> None:
    service, networks, ports, lifecycle, container = setup()
    lifecycle.refuse = refusal
    [web] = [g for g in networks.groups.values() if g.name == "web"]

    with pytest.raises(type(refusal)):
        service.add(CTX, container, "web")

    assert ports.updated == [
        (MADE.id, (*container.security_groups, web.id)),
        (MADE.id, tuple(container.security_groups)),
    ]


def test_a_container_busy_with_another_operation_is_refused_before_any_change() -> None:
    service, _, ports, lifecycle, container = setup()
    busy = dataclasses.replace(container, task_state=TaskState.CONTAINER_STOPPING)

    with pytest.raises(Conflict):
        service.add(CTX, busy, "web")
    assert (ports.updated, lifecycle.casts) == ([], [])
