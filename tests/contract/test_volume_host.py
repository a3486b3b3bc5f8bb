"""The local volume host against the real kernel (loop devices, ext4) and Docker Engine.

Everything made here carries a throw-away installation id (engine labels, the
directory its files live under) and is removed at the end, loop devices
included; nothing of anyone else's is touched.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pytest

from dockyard.compute.volume_sync import sync_volumes
from dockyard.domain.errors import Conflict, InvalidInput, VolumeInUse, VolumeUnsupported
from dockyard.domain.labels import LABEL_HOST, LABEL_INSTALLATION
from dockyard.domain.volumes import HostVolume
from dockyard.drivers.volume.base import engine_volume_name
from dockyard.drivers.volume.local.host import LABEL_VOLUME_ID, LoopVolumeHost
from dockyard.drivers.volume.local.loopfs import LoopFilesystems, run
from tests.contract.network_support import IMAGE, engine, unavailable

pytestmark = pytest.mark.docker

MIB = 1024 * 1024
HOST = "voltest"


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    if os.geteuid() != 0 or not os.path.exists("/dev/loop-control"):
        unavailable("volume tests need root and loop devices")
    made = engine()
    yield made
    made.close()


@dataclass
class CountingRunner:
    """The real command runner, counting the filesystems it makes."""

    formats: list[str] = field(default_factory=list)

    def __call__(self, argv: Sequence[str]) -> str:
        if argv[0] == "mkfs.ext4":
            self.formats.append(argv[-1])
        return run(argv)


@dataclass
class Site:
    client: docker.DockerClient
    host: LoopVolumeHost
    installation: str
    runner: CountingRunner

    def volume(self, size_mib: int = 16) -> HostVolume:
        return HostVolume(str(uuid.uuid4()), size_mib * MIB, new=True)

    def container(self, volume: HostVolume, command: str) -> str:
        """A created (not started) container with ``volume`` at /data."""
        made = self.client.api.create_container(
            IMAGE,
            command=["sh", "-c", command],
            labels={LABEL_INSTALLATION: self.installation},
            host_config=self.client.api.create_host_config(
                binds={engine_volume_name(volume.volume_id): {"bind": "/data", "mode": "rw"}},
                network_mode="none",
            ),
        )
        return str(made["Id"])

    def run(self, volume: HostVolume, command: str) -> tuple[int, str]:
        """Run ``command`` in a new container with the volume; its exit code and output."""
        container = self.container(volume, command)
        try:
            self.client.api.start(container)
            code = self.client.api.wait(container, timeout=60)["StatusCode"]
            return code, bytes(self.client.api.logs(container)).decode(errors="replace")
        finally:
            self.client.api.remove_container(container, force=True)

    def exec(self, container: str, command: str) -> str:
        run = self.client.api.exec_create(container, ["sh", "-c", command])
        return bytes(self.client.api.exec_start(run["Id"])).decode(errors="replace")

    def mountpoint(self, volume: HostVolume) -> Path:
        return self.host.root / "mnt" / volume.volume_id

    def image(self, volume: HostVolume) -> Path:
        return self.host.root / f"{volume.volume_id}.img"

    def clean(self) -> None:
        label = f"{LABEL_INSTALLATION}={self.installation}"
        for summary in self.client.api.containers(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_container(summary["Id"], force=True)
        for realised in self.host.realised():
            self.host.remove(realised.volume_id)
        for summary in self.client.api.volumes(filters={"label": label}).get("Volumes") or []:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_volume(summary["Name"])


def loops_of(directory: Path) -> list[str]:
    """The loop devices backed by files under ``directory``."""
    listed = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True).stdout
    return [line for line in listed.splitlines() if str(directory) in line]


@contextlib.contextmanager
def site(client: docker.DockerClient, volumes_dir: Path) -> Iterator[Site]:
    installation = f"test-{uuid.uuid4().hex[:12]}"
    runner = CountingRunner()
    host = LoopVolumeHost(client, HOST, installation, volumes_dir, LoopFilesystems(runner=runner))
    made = Site(client, host, installation, runner)
    try:
        yield made
    finally:
        made.clean()


@pytest.fixture
def volumes_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    leftover = loops_of(tmp_path)
    assert leftover == [], f"loop devices left attached: {leftover}"


@pytest.fixture
def here(client: docker.DockerClient, volumes_dir: Path) -> Iterator[Site]:
    with site(client, volumes_dir) as made:
        yield made


def test_realise_makes_a_sized_mounted_labelled_engine_volume(here: Site) -> None:
    volume = here.volume(32)
    realised = here.host.realise(volume)
    name = engine_volume_name(volume.volume_id)
    assert (realised.volume_id, realised.engine_name, realised.size_bytes) == (
        volume.volume_id,
        name,
        32 * MIB,
    )
    assert realised.mounted and realised.containers == ()
    inspected = here.client.api.inspect_volume(name)
    assert inspected["Driver"] == "local"
    assert inspected["Labels"] == {
        LABEL_INSTALLATION: here.installation,
        LABEL_HOST: HOST,
        LABEL_VOLUME_ID: volume.volume_id,
    }
    assert inspected["Options"] == {
        "type": "none",
        "o": "bind",
        "device": str(here.mountpoint(volume)),
    }
    image = here.image(volume)
    assert image.stat().st_size == 32 * MIB
    assert image.stat().st_blocks * 512 < 32 * MIB  # sparse
    stats = os.statvfs(here.mountpoint(volume))
    assert 24 * MIB < stats.f_blocks * stats.f_frsize <= 32 * MIB
    assert here.host.realised() == (realised,)
    assert here.runner.formats == [f"{image}.new"]


def test_data_outlives_its_container_and_is_read_by_the_next(here: Site) -> None:
    volume = here.volume()
    here.host.realise(volume)
    assert here.run(volume, "echo kept > /data/note && sync") == (0, "")
    assert here.run(volume, "cat /data/note") == (0, "kept\n")
    assert (here.mountpoint(volume) / "note").read_text() == "kept\n"


def test_writing_past_the_size_fails_with_enospc_in_the_container(here: Site) -> None:
    volume = here.volume(16)
    here.host.realise(volume)
    code, output = here.run(volume, "dd if=/dev/zero of=/data/big bs=1M count=64")
    assert code != 0
    assert "No space left on device" in output
    assert here.image(volume).stat().st_size == 16 * MIB


def test_realise_again_keeps_the_data_and_never_formats(here: Site) -> None:
    volume = here.volume()
    first = here.host.realise(volume)
    assert here.run(volume, "echo kept > /data/note")[0] == 0
    assert here.host.realise(volume) == first
    assert (here.mountpoint(volume) / "note").read_text() == "kept\n"
    assert len(here.runner.formats) == 1


def test_an_unmounted_volume_is_mounted_again_without_formatting(here: Site) -> None:
    volume = here.volume()
    here.host.realise(volume)
    assert here.run(volume, "echo kept > /data/note")[0] == 0
    run(["umount", str(here.mountpoint(volume))])  # as after a reboot, or a crash
    (gone,) = here.host.realised()
    assert not gone.mounted and gone.engine_name
    assert here.host.realise(volume).mounted
    assert here.run(volume, "cat /data/note") == (0, "kept\n")
    assert len(here.runner.formats) == 1


def test_an_unmounted_volume_takes_no_writes_onto_the_host_disk(here: Site) -> None:
    volume = here.volume()
    here.host.realise(volume)
    run(["umount", str(here.mountpoint(volume))])
    code, _ = here.run(volume, "echo lost > /data/note")
    assert code != 0
    assert list(here.mountpoint(volume).iterdir()) == []


def test_an_engine_volume_removed_outside_is_made_again(here: Site) -> None:
    volume = here.volume()
    here.host.realise(volume)
    assert here.run(volume, "echo kept > /data/note")[0] == 0
    here.client.api.remove_volume(engine_volume_name(volume.volume_id))
    (partial,) = here.host.realised()
    assert (partial.engine_name, partial.mounted) == ("", True)
    assert here.host.realise(volume).engine_name == engine_volume_name(volume.volume_id)
    assert here.run(volume, "cat /data/note") == (0, "kept\n")


def test_a_crash_while_formatting_leaves_nothing_half_made(here: Site) -> None:
    volume = here.volume()
    here.host.root.mkdir(parents=True)
    Path(f"{here.image(volume)}.new").write_bytes(b"not a filesystem")
    assert here.host.realise(volume).mounted
    assert not Path(f"{here.image(volume)}.new").exists()


def test_a_volume_asked_with_another_size_is_a_conflict(here: Site) -> None:
    volume = here.volume(16)
    here.host.realise(volume)
    with pytest.raises(Conflict, match="holds 16777216 bytes"):
        here.host.realise(HostVolume(volume.volume_id, 32 * MIB))
    assert here.image(volume).stat().st_size == 16 * MIB


def test_a_volume_whose_data_is_missing_is_not_made_again_empty(here: Site) -> None:
    volume = here.volume()
    here.host.realise(volume)
    here.host.remove(volume.volume_id)
    formats = len(here.runner.formats)

    with pytest.raises(Conflict, match="missing"):
        here.host.realise(dataclasses.replace(volume, new=False))

    assert len(here.runner.formats) == formats
    assert volume.volume_id not in {r.volume_id for r in here.host.realised()}


def test_a_volume_too_small_for_a_filesystem_is_refused(here: Site) -> None:
    with pytest.raises(InvalidInput, match="under the"):
        here.host.realise(HostVolume(str(uuid.uuid4()), MIB))
    assert here.host.realised() == ()


@pytest.mark.parametrize("volume_id", ["../escape", "a/b", "", ".hidden", "x" * 200])
def test_an_id_that_is_not_a_file_name_is_refused(here: Site, volume_id: str) -> None:
    with pytest.raises(InvalidInput, match="cannot name a file"):
        here.host.realise(HostVolume(volume_id, 16 * MIB))
    assert not here.host.root.exists() or list(here.host.root.iterdir()) == []


def test_remove_while_a_container_uses_it_is_a_conflict_and_keeps_everything(
    here: Site, volumes_dir: Path
) -> None:
    volume = here.volume()
    here.host.realise(volume)
    assert here.run(volume, "echo kept > /data/note")[0] == 0
    user = here.container(volume, "true")  # created, never started
    with pytest.raises(VolumeInUse, match=user) as caught:
        here.host.remove(volume.volume_id)
    assert caught.value.status == 409
    (still,) = here.host.realised()
    assert still.mounted and still.containers == (user,)
    assert (here.mountpoint(volume) / "note").read_text() == "kept\n"
    here.client.api.remove_container(user)
    here.host.remove(volume.volume_id)
    assert here.host.realised() == ()
    assert not here.image(volume).exists() and not here.mountpoint(volume).exists()
    with pytest.raises(docker.errors.NotFound):
        here.client.api.inspect_volume(engine_volume_name(volume.volume_id))
    assert loops_of(volumes_dir) == []
    here.host.remove(volume.volume_id)  # absent: success


def test_remove_while_a_running_container_uses_it_is_a_conflict(here: Site) -> None:
    volume = here.volume()
    here.host.realise(volume)
    user = here.container(volume, "sleep 60")
    here.client.api.start(user)
    with pytest.raises(VolumeInUse):
        here.host.remove(volume.volume_id)
    assert here.host.realised()[0].mounted
    here.client.api.remove_container(user, force=True)
    here.host.remove(volume.volume_id)
    assert here.host.realised() == ()


def test_another_installations_volumes_are_never_listed_nor_removed(
    here: Site, client: docker.DockerClient, volumes_dir: Path
) -> None:
    volume = here.volume()
    here.host.realise(volume)
    assert here.run(volume, "echo mine > /data/note")[0] == 0
    with site(client, volumes_dir) as other:
        assert other.host.realised() == ()
        other.host.remove(volume.volume_id)
        with pytest.raises(Conflict, match="not this Dockyard's"):
            other.host.realise(volume)
        assert other.host.realised() == ()
        assert other.runner.formats == []
    (mine,) = here.host.realised()
    assert mine.mounted and mine.engine_name
    assert here.run(volume, "cat /data/note") == (0, "mine\n")


def test_a_host_without_loop_devices_is_refused_naming_the_reason(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    installation = f"test-{uuid.uuid4().hex[:12]}"
    missing = str(tmp_path / "loop-control")
    host = LoopVolumeHost(
        client, HOST, installation, tmp_path, LoopFilesystems(loop_control=missing)
    )
    with pytest.raises(VolumeUnsupported, match=f"{missing} is missing") as caught:
        host.realise(HostVolume(str(uuid.uuid4()), 16 * MIB))
    assert caught.value.status == 400
    assert caught.value.fields == {"field": "mounts", "host": HOST}
    assert list(tmp_path.iterdir()) == []
    assert host.realised() == ()


def test_an_agent_that_is_not_root_is_refused_naming_the_reason(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    host = LoopVolumeHost(client, HOST, "test-x", tmp_path, LoopFilesystems(euid=lambda: 1000))
    with pytest.raises(VolumeUnsupported, match="does not run as root"):
        host.check()


def test_a_host_without_mkfs_is_refused_naming_the_package(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    host = LoopVolumeHost(
        client, HOST, "test-x", tmp_path, LoopFilesystems(mkfs="mkfs.dockyard-absent")
    )
    with pytest.raises(VolumeUnsupported, match="mkfs.dockyard-absent is not installed"):
        host.check()


def test_a_sync_pass_repairs_wanted_volumes_removes_deleted_ones_and_spares_strays(
    here: Site,
) -> None:
    rebooted, exposed, stray, busy, doomed = (here.volume() for _ in range(5))
    for volume in (rebooted, exposed, stray, busy, doomed):
        here.host.realise(volume)
    assert here.run(rebooted, "echo kept > /data/note")[0] == 0
    run(["umount", str(here.mountpoint(rebooted))])
    here.client.api.remove_volume(engine_volume_name(exposed.volume_id))
    user = here.container(busy, "true")
    early = here.container(rebooted, "sleep 60")  # started by the engine before the agent
    here.client.api.start(early)
    too_small = HostVolume(str(uuid.uuid4()), MIB)
    formats = len(here.runner.formats)

    done = sync_volumes(
        here.host, [rebooted, exposed, too_small], [busy.volume_id, doomed.volume_id]
    )

    assert done.repaired == (rebooted.volume_id, exposed.volume_id)
    assert done.removed == (doomed.volume_id,)
    assert done.held == (busy.volume_id,)
    assert done.strays == (stray.volume_id,)
    assert [volume_id for volume_id, _ in done.failed] == [too_small.volume_id]
    assert done.stale_users == (here.client.api.inspect_container(early)["Id"],)
    assert here.exec(early, "ls /data") == ""  # the empty mount point, until restarted
    here.client.api.remove_container(early, force=True)
    assert len(here.runner.formats) == formats
    assert here.run(rebooted, "cat /data/note") == (0, "kept\n")
    left = {r.volume_id: r for r in here.host.realised()}
    assert set(left) == {rebooted.volume_id, exposed.volume_id, stray.volume_id, busy.volume_id}
    assert all(r.mounted and r.engine_name for r in left.values())
    assert left[busy.volume_id].containers == (user,)
    again = sync_volumes(here.host, [rebooted, exposed], [])
    assert (again.repaired, again.removed, again.failed) == ((), (), ())


def test_concurrent_realises_of_one_volume_format_it_once(here: Site) -> None:
    volume = here.volume()
    barrier = threading.Barrier(4)

    def realise(_: int) -> bool:
        barrier.wait()
        return here.host.realise(volume).mounted

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(realise, range(4))) == [True] * 4
    assert len(here.runner.formats) == 1
