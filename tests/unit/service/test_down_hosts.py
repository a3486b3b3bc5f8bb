"""ContainerService on a host whose agent is down: precise refusals, no RPC, no stuck task.

SQLite and a clock the test moves: the host's last heartbeat ages past
``service_down_time`` without anything sleeping. The fake ``ComputeAPI`` records
every call, so "no RPC attempted" is checked, not assumed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from dockyard.db import migrate
from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.session import Database
from dockyard.domain.errors import InvalidState, ServiceBusy
from dockyard.domain.models import Container, LogOptions
from dockyard.domain.states import Status
from dockyard.rpc.api import ComputeAPI
from dockyard.service.containers import ContainerService
from tests.factories import CTX, container, host_inventory
from tests.fakes.clock import FakeClock
from tests.fakes.compute import FakeCompute

HOST = "node-1"
DOWN_AFTER = dt.timedelta(seconds=25)


@dataclass
class World:
    now: FakeClock
    containers: ContainerRepository
    hosts: HostRepository
    compute: FakeCompute
    service: ContainerService

    def add(self, status: Status = Status.RUNNING) -> Container:
        count = len(self.containers.uuids())
        made = container(
            uuid=f"0b7a3f4e-2222-4c2d-9e3f-{count:012d}", name=f"c{count}", status=status
        )
        created = self.containers.create_claimed(made, HOST)
        assert created is not None
        return created

    def go_down(self) -> None:
        """Let the last heartbeat age past ``service_down_time``."""
        self.now.advance((DOWN_AFTER + dt.timedelta(seconds=1)).total_seconds())

    def cpu_used(self) -> float:
        host = self.hosts.get(HOST)
        assert host is not None
        return host.cpu_used


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'dockyard.sqlite'}")
    migrate.upgrade(db)
    now = FakeClock(db.clock.now())
    hosts = HostRepository(db, DOWN_AFTER, clock=now)
    hosts.report(HOST, host_inventory())
    containers = ContainerRepository(db)
    compute = FakeCompute()
    service = ContainerService(
        containers, ActionRepository(db), cast(ComputeAPI, compute), 100, hosts=hosts
    )
    yield World(now, containers, hosts, compute, service)
    db.dispose()


ACTIONS: dict[str, Callable[[ContainerService, str], object]] = {
    "stop": lambda s, u: s.act(CTX, u, "stop", timeout=None),
    "reboot": lambda s, u: s.act(CTX, u, "reboot", timeout=None),
    "pause": lambda s, u: s.act(CTX, u, "pause"),
    "kill": lambda s, u: s.act(CTX, u, "kill", signal=None),
    "logs": lambda s, u: s.logs(CTX, u, LogOptions()),
    "execute": lambda s, u: s.execute(CTX, u, "ls /"),
    "top": lambda s, u: s.top(CTX, u, None),
    "stats": lambda s, u: s.stats(CTX, u),
    "delete after stop": lambda s, u: s.delete(CTX, u, force=False, stop=True),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_on_a_down_host_is_refused_without_rpc(world: World, action: str) -> None:
    c = world.add(Status.RUNNING)
    world.go_down()

    with pytest.raises(ServiceBusy, match=rf"^Host {HOST} is down since .* UTC"):
        ACTIONS[action](world.service, c.uuid)

    assert world.compute.calls == []
    after = world.containers.find(c.uuid)
    assert after is not None
    assert (after.status, after.task_state, after.status_reason) == (Status.RUNNING, None, None)
    assert world.cpu_used() == 0.5


def test_start_and_plain_delete_of_a_stopped_container_are_refused(world: World) -> None:
    c = world.add(Status.STOPPED)
    world.go_down()

    with pytest.raises(ServiceBusy):
        world.service.act(CTX, c.uuid, "start")
    with pytest.raises(ServiceBusy):
        world.service.delete(CTX, c.uuid, force=False, stop=False)

    assert world.compute.calls == []
    after = world.containers.find(c.uuid)
    assert after is not None and (after.status, after.task_state) == (Status.STOPPED, None)


def test_the_state_check_still_comes_first(world: World) -> None:
    c = world.add(Status.STOPPED)
    world.go_down()
    with pytest.raises(InvalidState):
        world.service.act(CTX, c.uuid, "stop", timeout=None)


def test_a_forced_down_host_is_named_so(world: World) -> None:
    c = world.add(Status.RUNNING)
    assert world.hosts.set_switches(HOST, forced_down=True)
    with pytest.raises(ServiceBusy, match=f"Host {HOST} is forced down since"):
        world.service.act(CTX, c.uuid, "stop", timeout=None)


@pytest.mark.parametrize("stop", [False, True])
def test_force_delete_on_a_down_host_drops_record_claim_and_quota(world: World, stop: bool) -> None:
    c = world.add(Status.RUNNING)
    world.go_down()

    world.service.delete(CTX, c.uuid, force=True, stop=stop)

    assert world.containers.find(c.uuid) is None
    assert world.cpu_used() == 0.0
    assert world.containers.count(CTX.project_id) == 0
    assert world.compute.calls == []


def test_force_delete_on_an_unregistered_host_drops_the_record(world: World) -> None:
    c = world.add(Status.RUNNING)
    assert world.hosts.delete(HOST)

    world.service.delete(CTX, c.uuid, force=True, stop=False)

    assert world.containers.find(c.uuid) is None
    assert world.compute.calls == []


def test_force_delete_on_an_up_host_still_asks_the_agent(world: World) -> None:
    c = world.add(Status.RUNNING)

    world.service.delete(CTX, c.uuid, force=True, stop=False)

    assert world.compute.targets() == [("operate", HOST)]
    after = world.containers.find(c.uuid)
    assert after is not None and after.status is Status.DELETING
