"""Files in and out of a container as tar archives, and commit to an image."""

from __future__ import annotations

import io
import tarfile
import uuid as uuidlib

import pytest

from dockyard.domain.errors import InvalidInput, InvalidRequest, NotFound, PayloadTooLarge
from dockyard.domain.models import ContainerSpec
from dockyard.domain.states import Status
from dockyard.drivers.runtime.base import RuntimeDriver
from tests.contract.runtime.conftest import Engine
from tests.contract.runtime.support import (
    REAL_PROCESS,
    Factory,
    engine_only,
    tar_of,
)

#: Far above what these tests copy.
LIMIT = 1024 * 1024

# --- archives and commit --------------------------------------------------------------------


def test_an_archive_over_the_limit_is_refused(
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container()
    runtime.put_archive(spec.uuid, "/tmp", tar_of("big.bin", b"x" * 8192))

    with pytest.raises(PayloadTooLarge, match="max_archive_size|larger than 4096"):
        runtime.get_archive(spec.uuid, "/tmp/big.bin", 4096)
    assert len(runtime.get_archive(spec.uuid, "/tmp/big.bin", 16384).data) > 8192


def test_archive_round_trip(runtime: RuntimeDriver, make_container: Factory) -> None:
    spec = make_container()  # created, never started: archives work all the same
    content = bytes(range(256)) * 3

    runtime.put_archive(spec.uuid, "/tmp", tar_of("blob.bin", content))
    runtime.put_archive(spec.uuid, "/tmp", tar_of("blob.bin", content))
    archive = runtime.get_archive(spec.uuid, "/tmp/blob.bin", LIMIT)

    with tarfile.open(fileobj=io.BytesIO(archive.data)) as tar:
        extracted = tar.extractfile("blob.bin")
        assert extracted is not None and extracted.read() == content
    assert (archive.stat.name, archive.stat.size, archive.stat.link_target) == (
        "blob.bin",
        768,
        "",
    )


@engine_only(REAL_PROCESS)
def test_archive_of_a_symlink_reports_its_target(
    runtime: RuntimeDriver, running: ContainerSpec
) -> None:
    script = "echo x > /tmp/target && ln -s /tmp/target /tmp/link"
    assert runtime.execute(running.uuid, ["sh", "-c", script], timeout=10).exit_code == 0

    assert runtime.get_archive(running.uuid, "/tmp/link", LIMIT).stat.link_target == "/tmp/target"


def test_archive_errors(runtime: RuntimeDriver, running: ContainerSpec) -> None:
    with pytest.raises(InvalidRequest, match="/no/such/file"):
        runtime.get_archive(running.uuid, "/no/such/file", LIMIT)
    with pytest.raises(InvalidRequest, match="/no/such/dir"):
        runtime.put_archive(running.uuid, "/no/such/dir", tar_of("x", b"x"))
    with pytest.raises(InvalidInput):
        runtime.put_archive(running.uuid, "/tmp", b"not a tar stream" * 64)
    with pytest.raises(InvalidInput):
        runtime.put_archive(running.uuid, "/etc/hostname", tar_of("x", b"x"))
    with pytest.raises(NotFound):
        runtime.get_archive(str(uuidlib.uuid4()), "/tmp", LIMIT)


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_commit_makes_an_image_and_leaves_the_state_alone(
    engine: Engine, runtime: RuntimeDriver, running: ContainerSpec, paused: bool
) -> None:
    runtime.execute(running.uuid, ["sh", "-c", "echo committed > /marker"], timeout=10)
    if paused:
        runtime.pause(running.uuid)
    repository = f"dockyard-test/contract-{uuidlib.uuid4().hex[:8]}"
    try:
        image_id = runtime.commit(running.uuid, repository, "v1")

        assert engine.image_id(f"{repository}:v1") == image_id
        expected = Status.PAUSED if paused else Status.RUNNING
        assert runtime.inspect(running.uuid).status is expected
    finally:
        engine.remove_image(f"{repository}:v1")


def test_commit_of_a_missing_container(runtime: RuntimeDriver) -> None:
    with pytest.raises(NotFound):
        runtime.commit(str(uuidlib.uuid4()), "dockyard-test/never", "latest")
