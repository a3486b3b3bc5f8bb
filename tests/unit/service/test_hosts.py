"""Host liveness with an injected clock, the service switches and the ComputeFilter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.db import migrate
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.session import Database
from dockyard.domain.errors import ServiceNotFound
from dockyard.scheduler.filters.compute import ComputeFilter
from dockyard.scheduler.reasons import Reason
from dockyard.scheduler.request import PlacementRequest
from dockyard.service.hosts import COMPUTE_BINARY, HostService
from tests.factories import host_inventory
from tests.fakes.clock import FakeClock

REQUEST = PlacementRequest(cpu=0.1, memory_mib=16)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 1, 1, 12, 0, 0))


@pytest.fixture
def hosts(tmp_path: Path, clock: FakeClock) -> Iterator[HostRepository]:
    db = Database(f"sqlite:///{tmp_path / 'dockyard.sqlite'}")
    migrate.upgrade(db)
    repo = HostRepository(db, dt.timedelta(seconds=25), clock=clock)
    repo.report("h1", host_inventory())
    yield repo
    db.dispose()


def up(hosts: HostRepository) -> bool:
    host = hosts.get("h1")
    assert host is not None
    return host.up and ComputeFilter().reject(host, REQUEST) is None


def test_down_after_service_down_time_and_up_on_heartbeat(
    hosts: HostRepository, clock: FakeClock
) -> None:
    clock.advance(25)
    assert up(hosts)
    clock.advance(1)
    assert not up(hosts)
    assert hosts.heartbeat("h1") is True
    assert up(hosts)
    assert hosts.heartbeat("nowhere") is False


def test_reports_count_and_stamp(hosts: HostRepository, clock: FakeClock) -> None:
    clock.advance(7)
    hosts.report("h1", host_inventory())
    host = hosts.get("h1")
    assert host is not None
    assert (host.report_count, host.last_seen, host.updated_at) == (2, clock.at, clock.at)
    assert host.created_at is not None and host.uuid


def test_switches_keep_hosts_out_of_scheduling(hosts: HostRepository) -> None:
    service = HostService(hosts, max_limit=10, default_zone="nova")
    service.disable("h1", COMPUTE_BINARY, "maintenance")
    host = hosts.get("h1")
    assert host is not None and not host.enabled and host.disabled_reason == "maintenance"
    assert ComputeFilter().reject(host, REQUEST) is Reason.DISABLED
    service.enable("h1", COMPUTE_BINARY)
    assert up(hosts)
    service.force_down("h1", COMPUTE_BINARY, True)
    assert not up(hosts)
    hosts.heartbeat("h1")
    assert not up(hosts), "a heartbeat does not lift forced_down"
    service.force_down("h1", COMPUTE_BINARY, False)
    assert up(hosts)


@pytest.mark.parametrize(("host", "binary"), [("h2", COMPUTE_BINARY), ("h1", "dockyard-api")])
def test_unknown_service(hosts: HostRepository, host: str, binary: str) -> None:
    service = HostService(hosts, max_limit=10, default_zone="nova")
    with pytest.raises(ServiceNotFound):
        service.enable(host, binary)
    with pytest.raises(ServiceNotFound):
        service.delete(host, binary)
