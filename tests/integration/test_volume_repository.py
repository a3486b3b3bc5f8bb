"""Volume records on SQLite, PostgreSQL and MariaDB: scoping, attachments, quota, races."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.repositories.volumes import VolumeRepository
from dockyard.db.session import Database
from dockyard.domain.errors import (
    Conflict,
    InvalidInput,
    InvalidState,
    OverQuota,
    VolumeInUse,
    VolumeNotFound,
)
from dockyard.domain.volumes import (
    GIB,
    HostVolume,
    MountLimits,
    Volume,
    VolumeAttachment,
    VolumeStatus,
    new_volume,
)
from dockyard.service.volumes import LocalVolumeDriver
from tests.integration import test_repositories as repos

db = repos.db
in_parallel = repos.in_parallel


@pytest.fixture
def volumes(db: Database) -> VolumeRepository:
    return VolumeRepository(db, QuotaRepository(db))


def make(volumes: VolumeRepository, size: int = 2, name: str = "", project: str = "p") -> Volume:
    return volumes.create(
        new_volume(id=str(uuid.uuid4()), project_id=project, size=size, name=name)
    )


def disk_in_use(volumes: VolumeRepository, project: str = "p") -> Any:
    return volumes.quotas.usages(project)["disk"]["in_use"]


def held_by(container: str, host: str = "h1") -> VolumeAttachment:
    return VolumeAttachment(container, host, "/data")


def test_a_volume_is_recorded_creating_then_placed_available(volumes: VolumeRepository) -> None:
    made = make(volumes, 3, "data")
    assert (made.status, made.host, made.size_gib, made.name) == (
        VolumeStatus.CREATING,
        "",
        3,
        "data",
    )
    placed = volumes.placed(made.id, "h1")
    assert (placed.status, placed.host) == (VolumeStatus.AVAILABLE, "h1")
    assert volumes.placed(made.id, "h1") == placed
    with pytest.raises(Conflict, match="lives on host h1"):
        volumes.placed(made.id, "h2")
    assert volumes.volumes_for_host("h1") == (HostVolume(made.id, 3 * GIB),)
    assert volumes.volumes_for_host("h2") == ()


def test_volume_gib_count_in_disk_and_over_quota_records_nothing(
    volumes: VolumeRepository,
) -> None:
    volumes.quotas.set_limits("p", {"disk": 5})
    first = make(volumes, 3)
    assert disk_in_use(volumes) == 3
    with pytest.raises(OverQuota, match="disk: 3 requested, limit 5, 3 in use"):
        make(volumes, 3)
    assert [v.id for v in volumes.list_volumes("p")] == [first.id]
    assert disk_in_use(volumes) == 3
    with pytest.raises(InvalidState, match="is creating"):
        volumes.delete("p", first.id)
    volumes.placed(first.id, "h1")
    volumes.delete("p", first.id)
    volumes.forget(first.id)
    volumes.forget(first.id)
    assert disk_in_use(volumes) == 0
    assert volumes.list_volumes("p") == ()


def test_volumes_made_before_accounting_are_counted_once(
    db: Database, volumes: VolumeRepository
) -> None:
    make(volumes, 4)
    fresh = QuotaRepository(db)  # as a new process: reads the stored usage rows
    assert fresh.usages("p")["disk"]["in_use"] == 4
    with db.write() as conn:
        conn.exec_driver_sql("DELETE FROM quota_usages WHERE project_id = 'p'")
    recounted = QuotaRepository(db)
    assert recounted.usages("p")["disk"]["in_use"] == 4


def test_lookups_are_scoped_to_the_project_and_refuse_ambiguous_names(
    volumes: VolumeRepository,
) -> None:
    mine = make(volumes, name="data")
    theirs = make(volumes, name="secret", project="other")
    assert volumes.find("p", mine.id) == mine
    assert volumes.find("p", "data") == mine
    with pytest.raises(VolumeNotFound):
        volumes.find("p", theirs.id)
    with pytest.raises(VolumeNotFound):
        volumes.find("p", "secret")
    with pytest.raises(VolumeNotFound):
        volumes.find("p", "nothing")
    make(volumes, name="data")
    with pytest.raises(Conflict, match="Several volumes are named data"):
        volumes.find("p", "data")
    assert [v.project_id for v in volumes.list_volumes("other")] == ["other"]


def test_attach_holds_the_volume_for_one_container_only(volumes: VolumeRepository) -> None:
    made = make(volumes)
    with pytest.raises(InvalidState, match="is creating"):
        volumes.attach("p", made.id, held_by("c1"))
    volumes.placed(made.id, "h1")
    with pytest.raises(VolumeNotFound):
        volumes.attach("other", made.id, held_by("c1"))
    with pytest.raises(InvalidState, match="lives on host h1"):
        volumes.attach("p", made.id, held_by("c1", "h2"))
    attached = volumes.attach("p", made.id, held_by("c1"))
    assert attached.status is VolumeStatus.IN_USE
    assert attached.attachments == (held_by("c1"),)
    assert volumes.attach("p", made.id, held_by("c1")) == attached
    with pytest.raises(VolumeInUse, match="in use by c1"):
        volumes.attach("p", made.id, held_by("c2"))
    assert volumes.attachments_of("c1") == (attached,)
    volumes.detach(made.id, "c1")
    volumes.detach(made.id, "c1")
    volumes.detach(str(uuid.uuid4()), "c1")
    free = volumes.get(made.id)
    assert (free.status, free.attachments) == (VolumeStatus.AVAILABLE, ())
    assert volumes.attach("p", made.id, held_by("c2")).attachments == (held_by("c2"),)


def test_deleting_a_volume_in_use_is_refused_and_changes_nothing(
    volumes: VolumeRepository,
) -> None:
    made = make(volumes)
    volumes.placed(made.id, "h1")
    attached = volumes.attach("p", made.id, held_by("c1"))
    with pytest.raises(VolumeInUse) as caught:
        volumes.delete("p", made.id)
    assert caught.value.status == 409
    with pytest.raises(VolumeInUse):
        volumes.forget(made.id)
    assert volumes.get(made.id) == attached
    with pytest.raises(VolumeNotFound):
        volumes.delete("other", made.id)
    volumes.detach(made.id, "c1")
    deleting = volumes.delete("p", made.id)
    assert deleting.status is VolumeStatus.DELETING
    assert volumes.volumes_for_host("h1") == ()
    assert volumes.deleting_on_host("h1") == (made.id,)
    assert volumes.deleting_on_host("h2") == ()
    with pytest.raises(InvalidState):
        volumes.attach("p", made.id, held_by("c2"))


def test_of_many_concurrent_attaches_exactly_one_wins(volumes: VolumeRepository) -> None:
    made = make(volumes)
    volumes.placed(made.id, "h1")

    def attach(i: int) -> str:
        try:
            volumes.attach("p", made.id, held_by(f"c{i}"))
        except VolumeInUse:
            return "refused"
        return "won"

    assert sorted(in_parallel(8, attach)) == ["refused"] * 7 + ["won"]
    assert len(volumes.get(made.id).attachments) == 1


def test_an_attach_racing_a_delete_leaves_one_outcome(volumes: VolumeRepository) -> None:
    made = make(volumes)
    volumes.placed(made.id, "h1")

    def act(i: int) -> str:
        try:
            if i == 0:
                volumes.delete("p", made.id)
                return "deleted"
            volumes.attach("p", made.id, held_by("c1"))
            return "attached"
        except (VolumeInUse, InvalidState):
            return "refused"

    outcome = sorted(in_parallel(2, act))
    final = volumes.get(made.id)
    if outcome == ["attached", "refused"]:
        assert final.status is VolumeStatus.IN_USE and final.attachments
    else:
        assert outcome == ["deleted", "refused"]
        assert final.status is VolumeStatus.DELETING and not final.attachments


def test_the_local_driver_checks_sizes_and_names_before_recording(
    volumes: VolumeRepository,
) -> None:
    driver = LocalVolumeDriver(volumes, MountLimits(max_size_gib=10))
    made = driver.create("p", 2, "data", auto_remove=True)
    assert (made.size_gib, made.name, made.auto_remove) == (2, "data", True)
    assert driver.find("p", "data") == made
    for size, words in ((0, "at least 1"), (11, "over the largest"), (-1, "at least 1")):
        with pytest.raises(InvalidInput, match=words):
            driver.create("p", size)
    with pytest.raises(InvalidInput, match="at most 255"):
        driver.create("p", 1, "n" * 256)
    assert driver.list_volumes("p") == (made,)
    assert disk_in_use(volumes) == 2


def test_the_block_storage_requests_through_the_local_driver(volumes: VolumeRepository) -> None:
    driver = LocalVolumeDriver(volumes, MountLimits(max_size_gib=10))
    made = driver.create_available("p", 3, "data", "for the web")
    assert (made.status, made.host, made.description) == (VolumeStatus.AVAILABLE, "", "for the web")
    assert made.created_at is not None and disk_in_use(volumes) == 3
    other = driver.create_available("q", 1)
    assert driver.list_all_volumes() == (made, other) and driver.get(other.id) == other
    with pytest.raises(InvalidInput, match="':'"):
        driver.describe(made.id, "a:b", "")
    renamed = driver.describe(made.id, "site", "")
    assert (renamed.name, renamed.description) == ("site", "")
    assert renamed.updated_at is not None and driver.find("p", "site") == renamed
    # Never placed: its record goes at once, its GiB with it.
    with pytest.raises(VolumeNotFound):
        driver.discard("q", made.id)
    assert driver.discard("p", made.id).status is VolumeStatus.DELETING
    assert driver.list_volumes("p") == () and disk_in_use(volumes) == 0
    # Placed on a host: deleting, for that host's agent to remove; held → 409.
    placed = driver.placed(driver.create_available("p", 1).id, "h1")
    driver.attach("p", placed.id, held_by("c1"))
    with pytest.raises(VolumeInUse):
        driver.discard("p", placed.id)
    driver.detach(placed.id, "c1")
    assert driver.discard("p", placed.id).status is VolumeStatus.DELETING
    assert driver.deleting_on_host("h1") == (placed.id,)
    with pytest.raises(VolumeNotFound):
        driver.get(str(uuid.uuid4()))
