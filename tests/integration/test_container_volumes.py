"""A container's volume step over real records (SQLite, PostgreSQL, MariaDB): resolving a
create's mounts, holding the volumes, undoing exactly what a failed step made."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest

from dockyard.db.repositories.container_files import ContainerFileRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.repositories.volumes import VolumeRepository
from dockyard.db.session import Database
from dockyard.domain.errors import InvalidState, OverQuota, VolumeInUse, VolumeNotFound
from dockyard.domain.states import Status, TaskState
from dockyard.domain.volumes import (
    GIB,
    HostMount,
    HostVolume,
    MountRequest,
    MountType,
    Volume,
    VolumeAttachment,
    VolumeStatus,
)
from dockyard.service.container_volumes import ContainerVolumes
from dockyard.service.control import ControlService
from dockyard.service.sweeper import DownHostSweeper
from dockyard.service.volumes import LocalVolumeDriver
from tests.factories import host_inventory
from tests.fakes.clock import FakeClock
from tests.integration import test_repositories as repos

db = repos.db


@pytest.fixture
def records(db: Database) -> VolumeRepository:
    return VolumeRepository(db, QuotaRepository(db))


@pytest.fixture
def step(records: VolumeRepository, db: Database) -> ContainerVolumes:
    return ContainerVolumes(LocalVolumeDriver(records), ContainerFileRepository(db))


def named(step: ContainerVolumes, name: str, host: str = "", project: str = "p") -> Volume:
    made = step.driver.create(project, 2, name)
    return step.driver.placed(made.id, host) if host else made


def mount(source: str | None = None, size: int | None = None, dest: str = "/d") -> MountRequest:
    return MountRequest(MountType.VOLUME, dest, source=source, size_gib=size)


def state(records: VolumeRepository) -> Any:
    return records.list_volumes("p"), records.quotas.usages("p")["disk"]["in_use"]


def test_a_plan_refuses_what_cannot_be_mounted_and_changes_nothing(
    step: ContainerVolumes, records: VolumeRepository
) -> None:
    named(step, "here", "h1")
    named(step, "there", "h2")
    named(step, "theirs", "h1", project="q")
    held = named(step, "held", "h1")
    step.driver.attach("p", held.id, VolumeAttachment("c-0", "h1", "/x"))
    before = state(records)

    with pytest.raises(VolumeNotFound):
        step.plan("p", [mount("theirs")], None)
    with pytest.raises(VolumeNotFound):
        step.plan("p", [mount("nothing")], None)
    with pytest.raises(VolumeInUse):
        step.plan("p", [mount("held")], None)
    with pytest.raises(InvalidState, match="different hosts"):
        step.plan("p", [mount("here", dest="/a"), mount("there", dest="/b")], None)
    with pytest.raises(InvalidState, match="not on the requested host h2"):
        step.plan("p", [mount("here")], "h2")
    assert state(records) == before

    plan = step.plan("p", [mount("here", dest="/a"), mount(size=3, dest="/b")], None)
    assert (plan.host, plan.new_gib, plan.host_gib) == ("h1", 3, 3)


def test_a_claim_creates_attaches_and_on_failure_undoes_only_its_own(
    step: ContainerVolumes, records: VolumeRepository
) -> None:
    kept = named(step, "kept", "h1")
    fresh = named(step, "fresh")  # made through the block-storage API, never realised
    records.quotas.set_limits("p", {"disk": 4 + 3})
    before = state(records)
    plan = step.plan("p", [mount("kept", dest="/k"), mount(size=3, dest="/n")], None)

    with pytest.raises(OverQuota):
        # 4 GiB of named volumes + 3 new + 3 more than the limit allows.
        step.claim(
            step.plan(
                "p",
                [mount("kept", dest="/k"), mount(size=3, dest="/n"), mount(size=3, dest="/m")],
                None,
            ),
            "p",
            "c-1",
            "h1",
        )
    assert state(records) == before
    assert records.get(kept.id).status is VolumeStatus.AVAILABLE

    mounts = step.claim(plan, "p", "c-1", "h1")

    [created] = [v for v in step.driver.held_by("c-1") if v.auto_remove]
    assert mounts == (
        HostMount(HostVolume(kept.id, 2 * GIB), "/k"),
        HostMount(HostVolume(created.id, 3 * GIB, new=True), "/n"),
    )
    assert step.mounts_of("c-1") == (
        HostMount(HostVolume(kept.id, 2 * GIB), "/k"),
        HostMount(HostVolume(created.id, 3 * GIB), "/n"),
    )
    second = step.claim(step.plan("p", [mount("fresh")], None), "p", "c-2", "h1")
    assert second == (HostMount(HostVolume(fresh.id, 2 * GIB, new=True), "/d"),)


def test_releasing_detaches_named_volumes_and_removes_created_ones(
    step: ContainerVolumes, records: VolumeRepository
) -> None:
    kept = named(step, "kept", "h1")
    plan = step.plan("p", [mount("kept", dest="/k"), mount(size=1, dest="/n")], None)
    step.claim(plan, "p", "c-1", "h1")
    [created] = [v for v in step.driver.held_by("c-1") if v.auto_remove]

    step.release("c-1")

    assert records.get(kept.id).status is VolumeStatus.AVAILABLE
    assert records.get(created.id).status is VolumeStatus.DELETING
    assert step.for_host("h1").deleting == (created.id,)
    assert {v.volume_id for v in step.for_host("h1").wanted} == {kept.id}
    step.removed([created.id])
    assert [v.id for v in records.list_volumes("p")] == [kept.id]
    assert records.quotas.usages("p")["disk"]["in_use"] == 2

    step.claim(step.plan("p", [mount(size=1)], None), "p", "c-2", "h1")
    step.release("c-2", realised=False)
    assert [v.id for v in records.list_volumes("p")] == [kept.id]


def test_injected_files_are_kept_for_rebuilds_and_go_with_the_container(
    step: ContainerVolumes,
) -> None:
    files = (
        MountRequest(MountType.BIND, "/etc/a.conf", content=b"a=1\n"),
        MountRequest(MountType.BIND, "/srv/blob", content=bytes(range(256)) * 4096),
    )
    plan = step.plan("p", files, None)

    step.claim(plan, "p", "c-1", "h1")

    assert step.files_of("c-1") == files
    assert step.files_of("c-2") == ()
    step.release("c-1")
    assert step.files_of("c-1") == ()


def test_a_create_ended_on_a_down_host_gives_back_its_volumes(
    step: ContainerVolumes, records: VolumeRepository, db: Database
) -> None:
    """The conductor's sweeper ends a create stranded on a host that went down as the
    agent's own failure report does (ControlService.failed_create): the volume made for
    it is marked for its host to remove, the named one is free again. Found by
    tests/faults (broker unreachable 60 s): the volume stayed held by the Error record
    and its host, which had never made it, tried to realise it on every pass."""
    now = FakeClock(db.clock.now() - dt.timedelta(minutes=10))
    hosts = HostRepository(db, dt.timedelta(seconds=30), clock=now)
    hosts.report("h1", {**host_inventory(cpu=4.0, memory=4000), "disk_gib": 10})
    containers = ContainerRepository(db)
    made = containers.create_claimed(
        repos.record(task_state=TaskState.IMAGE_PULLING, created_at=now.now()), "h1"
    )
    assert made is not None
    kept = named(step, "kept", "h1")
    plan = step.plan("p", [mount("kept", dest="/k"), mount(size=1, dest="/n")], None)
    step.claim(plan, "p", made.uuid, "h1")
    [created] = [v for v in step.driver.held_by(made.uuid) if v.auto_remove]
    control = ControlService(containers, hosts, cast(Any, None), volumes=step)
    sweeper = DownHostSweeper(
        containers, hosts, dt.timedelta(minutes=2), clock=now, release=control.failed_create
    )

    now.at = db.clock.now() + dt.timedelta(minutes=5)
    assert [s.uuid for s in sweeper.run()] == [made.uuid]

    ended = containers.find(made.uuid)
    assert ended is not None and ended.status is Status.ERROR and not ended.claimed
    assert step.driver.held_by(made.uuid) == ()
    assert records.get(kept.id).status is VolumeStatus.AVAILABLE
    assert records.get(created.id).status is VolumeStatus.DELETING
    assert step.for_host("h1").deleting == (created.id,)
