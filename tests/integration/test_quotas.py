"""Quota limits and usage on SQLite, PostgreSQL and MariaDB: exact under concurrency."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.session import Database
from dockyard.domain.errors import OverQuota
from dockyard.domain.models import Container
from dockyard.domain.quotas import QuotaLimits
from tests.integration import test_repositories as repos

db = repos.db
record, in_parallel = repos.record, repos.in_parallel


def in_use(quotas: QuotaRepository, project: str = "p") -> dict[str, Any]:
    return {r: v["in_use"] for r, v in quotas.usages(project).items()}


def setup(db: Database, cpu: float = 1000.0, memory: int = 1_000_000) -> ContainerRepository:
    HostRepository(db, dt.timedelta(minutes=1)).report(
        "h1", repos.host_inventory(cpu=cpu, memory=memory)
    )
    return ContainerRepository(db, QuotaRepository(db))


def try_create(repo: ContainerRepository, container: Container) -> Container | None:
    try:
        return repo.create_claimed(container, "h1")
    except OverQuota:
        return None


def test_100_concurrent_reservations_against_10_admit_exactly_10(db: Database) -> None:
    repo = setup(db)
    repo.quotas.set_limits("p", {"containers": 10})
    made = in_parallel(100, lambda i: try_create(repo, record(name=f"c{i}", cpu=0.5, memory=64)))
    assert sum(c is not None for c in made) == 10
    assert repo.count("p") == 10
    assert in_use(repo.quotas) == {"containers": 10, "cpu": 5.0, "disk": 0, "memory": 640}


def test_concurrent_reservations_never_pass_a_memory_limit(db: Database) -> None:
    repo = setup(db)
    repo.quotas.set_limits("p", {"memory": 1000})
    made = in_parallel(30, lambda i: try_create(repo, record(name=f"c{i}", memory=64)))
    assert sum(c is not None for c in made) == 15
    assert in_use(repo.quotas)["memory"] == 960


def test_release_happens_exactly_once(db: Database) -> None:
    repo = setup(db)
    first = repo.create_claimed(record(cpu=0.25, memory=100, disk=2), "h1")
    second = repo.create_claimed(record(cpu=0.5, memory=50), "h1")
    assert first is not None and second is not None
    released = in_parallel(10, lambda i: repo.release_claim(first.uuid))
    assert released.count(True) == 1
    assert in_use(repo.quotas) == {"containers": 1, "cpu": 0.5, "disk": 0, "memory": 50}
    # The record no longer holds anything: deleting it gives nothing back again.
    assert repo.destroy(first.uuid) is True
    gone = in_parallel(5, lambda i: repo.destroy(second.uuid))
    assert gone.count(True) == 1
    assert in_use(repo.quotas) == {"containers": 0, "cpu": 0, "disk": 0, "memory": 0}


def test_creates_and_deletes_in_parallel_keep_usage_exact(db: Database) -> None:
    repo = setup(db)
    repo.quotas.set_limits("p", {"containers": 8})
    kept = [repo.create_claimed(record(name=f"k{i}", memory=10), "h1") for i in range(4)]

    def work(i: int) -> Any:
        if i < 4:
            found = kept[i]
            assert found is not None
            return repo.destroy(found.uuid)
        return try_create(repo, record(name=f"n{i}", memory=10))

    in_parallel(20, work)
    rows = repo.count("p")
    assert 4 <= rows <= 8
    expected = {"containers": rows, "cpu": rows / 2, "disk": 0, "memory": rows * 10}
    assert in_use(repo.quotas) == expected


def test_over_quota_names_resource_limit_and_usage_and_writes_nothing(db: Database) -> None:
    repo = setup(db)
    repo.quotas.set_limits("p", {"memory": 100, "cpu": 1})
    assert repo.create_claimed(record(memory=60, cpu=0.5), "h1") is not None
    with pytest.raises(OverQuota) as raised:
        repo.create_claimed(record(memory=60, cpu=0.75), "h1")
    assert raised.value.code == "over-quota" and raised.value.status == 403
    detail = raised.value.detail
    assert "cpu, memory" in detail
    assert "memory: 60 requested, limit 100, 60 in use" in detail
    assert "cpu: 0.75 requested, limit 1, 0.5 in use" in detail
    assert repo.count("p") == 1
    assert in_use(repo.quotas) == {"containers": 1, "cpu": 0.5, "disk": 0, "memory": 60}
    host = HostRepository(db, dt.timedelta(minutes=1)).get("h1")
    assert host is not None and host.memory_used == 60


def test_a_full_host_leaves_the_quota_untouched(db: Database) -> None:
    repo = setup(db, cpu=1.0, memory=100)
    assert repo.create_claimed(record(memory=200), "h1") is None
    assert in_use(repo.quotas) == {"containers": 0, "cpu": 0, "disk": 0, "memory": 0}


def test_a_host_without_disk_room_leaves_the_quota_untouched(db: Database) -> None:
    repo = setup(db)  # a 10 GiB disk
    made = in_parallel(8, lambda i: try_create(repo, record(name=f"c{i}", disk=4, memory=64)))
    assert sum(c is not None for c in made) == 2
    assert in_use(repo.quotas) == {"containers": 2, "cpu": 1.0, "disk": 8, "memory": 128}


def test_resize_moves_usage_or_changes_nothing(db: Database) -> None:
    repo = setup(db)
    repo.quotas.set_limits("p", {"memory": 300})
    made = repo.create_claimed(record(memory=100, cpu=1.0), "h1")
    assert made is not None
    with pytest.raises(OverQuota):
        repo.check_room(made.uuid, 1.0, 400)
    with pytest.raises(OverQuota):
        repo.resize(made.uuid, 1.0, 400)
    assert in_use(repo.quotas)["memory"] == 100
    assert repo.get(made.uuid).memory == 100
    resized = repo.resize(made.uuid, 2.0, 300)
    assert resized is not None and resized.memory == 300
    assert in_use(repo.quotas) == {"containers": 1, "cpu": 2.0, "disk": 0, "memory": 300}
    repo.resize(made.uuid, 0.5, 50)
    assert in_use(repo.quotas) == {"containers": 1, "cpu": 0.5, "disk": 0, "memory": 50}


def test_records_claimed_before_accounting_are_counted_once(db: Database) -> None:
    repo = setup(db)
    # A record written as by a release without quotas: claimed, no usage rows yet.
    old = repo.create(record(project_id="legacy", host="h1", claimed=True, memory=70, cpu=0.2))
    assert in_use(repo.quotas, "legacy") == {"containers": 1, "cpu": 0.2, "disk": 0, "memory": 70}
    assert repo.destroy(old.uuid) is True
    assert in_use(repo.quotas, "legacy") == {"containers": 0, "cpu": 0, "disk": 0, "memory": 0}


def test_limits_resolve_project_then_default_class_then_config(db: Database) -> None:
    quotas = QuotaRepository(db, QuotaLimits(containers=5, cpu=6, disk=7, memory=8))
    assert quotas.limits("p") == {"containers": 5, "cpu": 6, "disk": 7, "memory": 8}
    quotas.set_class_limits("default", {"cpu": 60})
    quotas.set_class_limits("gold", {"disk": 700})
    quotas.set_limits("p", {"containers": 50, "memory": -1})
    quotas.set_limits("p", {"containers": 51})
    assert quotas.limits("p") == {"containers": 51, "cpu": 60, "disk": 7, "memory": -1}
    assert quotas.limits("q") == {"containers": 5, "cpu": 60, "disk": 7, "memory": 8}
    assert quotas.class_limits("gold") == {"containers": 5, "cpu": 6, "disk": 700, "memory": 8}
    quotas.delete_limits("p")
    assert quotas.limits("p") == quotas.limits("q")


def test_unlimited_means_no_check_but_usage_is_still_counted(db: Database) -> None:
    repo = setup(db)
    repo.quotas.set_limits("p", {"containers": -1, "memory": -1})
    for i in range(3):
        assert repo.create_claimed(record(name=f"c{i}", memory=30_000), "h1") is not None
    assert in_use(repo.quotas) == {"containers": 3, "cpu": 1.5, "disk": 0, "memory": 90_000}
    repo.quotas.set_limits("p", {"containers": 3})
    with pytest.raises(OverQuota, match="containers: 1 requested, limit 3, 3 in use"):
        repo.create_claimed(record(), "h1")


def test_usage_never_goes_negative(db: Database) -> None:
    repo = setup(db)
    made = [repo.create_claimed(record(name=f"c{i}", memory=10), "h1") for i in range(6)]
    order = [c.uuid for c in made if c is not None]
    random.Random(3).shuffle(order)
    in_parallel(12, lambda i: repo.release_claim(order[i % 6]) or repo.destroy(order[i % 6]))
    usage = in_use(repo.quotas)
    assert usage == {"containers": 0, "cpu": 0, "disk": 0, "memory": 0}
    assert all(value >= 0 for value in usage.values())
