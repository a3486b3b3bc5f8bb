"""Live limits, top, stats, archives, commit and rebuild over HTTP, against the real engine."""

from __future__ import annotations

import base64
import contextlib
import io
import tarfile
import time
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest
from sqlalchemy import select, update

from dockyard.db.models import HostRow
from dockyard.domain.labels import LABEL_CONTAINER_ID
from tests.conftest import TEST_IMAGE, Dockyard

pytestmark = pytest.mark.docker

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
BUSY = ["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"]
STATS_KEYS = {
    "CONTAINER",
    "CPU %",
    "MEM USAGE(MiB)",
    "MEM LIMIT(MiB)",
    "MEM %",
    "BLOCK I/O(B)",
    "NET I/O(B)",
}


def run(dockyard: Dockyard, command: list[str] = SLEEPER, **body: Any) -> str:
    response = dockyard.create({"command": command, **body})
    assert response.status_code == 202, response.text
    uuid = str(response.json()["uuid"])
    dockyard.wait_for(uuid, "Running")
    return uuid


def path(uuid: str, action: str = "") -> str:
    return f"/v1/containers/{uuid}" + (f"/{action}" if action else "")


def exec_output(dockyard: Dockyard, uuid: str, command: str) -> str:
    response = dockyard.request("POST", path(uuid, "execute"), params={"command": command})
    assert response.status_code == 200, response.text
    return str(response.json()["output"])


def limits(dockyard: Dockyard, uuid: str) -> tuple[float, int]:
    """(CPUs, memory bytes) as the container's cgroup (v1) enforces them."""
    quota = int(exec_output(dockyard, uuid, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
    period = int(exec_output(dockyard, uuid, "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us"))
    memory = int(exec_output(dockyard, uuid, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"))
    return quota / period, memory


def claimed(dockyard: Dockyard) -> tuple[int, int]:
    """(cpu milli, memory MiB) claimed on the test host."""
    with dockyard.node.db.read() as conn:
        row = conn.execute(
            select(HostRow.cpu_used_milli, HostRow.memory_used).where(HostRow.name == dockyard.host)
        ).one()
    return int(row[0]), int(row[1])


def error_code(response: Any) -> str:
    return str(response.json()["errors"][0]["code"])


def wait_action_finished(dockyard: Dockyard, uuid: str, action: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        found = dockyard.request("GET", path(uuid, "container_actions")).json()
        matching = [a for a in found["containerActions"] if a["action"] == action]
        if matching and matching[0]["finish_time"] is not None:
            return dict(matching[0])
        assert time.monotonic() < deadline, f"{action} of {uuid} never finished"
        time.sleep(0.1)


def tar_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def untar_one(data: bytes) -> tuple[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.getmembers()[0]
        extracted = tar.extractfile(member)
        assert extracted is not None
        return member.name, extracted.read()


@pytest.fixture(scope="module")
def sleeper(dockyard: Dockyard) -> str:
    """A running container shared by the read-only and archive tests."""
    return run(dockyard)


@pytest.fixture
def committed_images(dockyard: Dockyard) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(docker.errors.APIError):
            dockyard.docker.images.remove(name, force=True)


# --- PATCH cpu/memory and resize_container ---------------------------------------------------


def test_patch_applies_new_limits_live_and_moves_the_claim(dockyard: Dockyard) -> None:
    uuid = run(dockyard, cpu=0.25, memory=32)
    before = claimed(dockyard)

    response = dockyard.request("PATCH", path(uuid), json={"cpu": 0.5, "memory": "64"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["cpu"], body["memory"], body["status"]) == (0.5, "64", "Running")
    assert limits(dockyard, uuid) == (pytest.approx(0.5), 64 * 2**20)
    assert claimed(dockyard) == (before[0] + 250, before[1] + 32)
    shown = dockyard.show(uuid)
    assert (shown["cpu"], shown["memory"]) == (0.5, "64")


def test_patch_of_a_stopped_container_and_name_together(dockyard: Dockyard) -> None:
    uuid = run(dockyard, cpu=0.25, memory=32)
    assert dockyard.request("POST", path(uuid, "stop")).status_code == 202
    dockyard.wait_for(uuid, "Stopped")
    new_name = f"resized-{uuidlib.uuid4().hex[:8]}"

    response = dockyard.request("PATCH", path(uuid), json={"memory": 48, "name": new_name})

    assert response.status_code == 200, response.text
    assert (response.json()["memory"], response.json()["name"]) == ("48", new_name)
    inspected = dockyard.docker.api.inspect_container(f"dockyard-{uuid}")["HostConfig"]
    assert inspected["Memory"] == inspected["MemorySwap"] == 48 * 2**20
    assert inspected["NanoCpus"] == 250_000_000


def test_patch_without_room_on_the_host_conflicts_and_changes_nothing(dockyard: Dockyard) -> None:
    uuid = run(dockyard, cpu=0.25, memory=32)
    with dockyard.node.db.write() as conn:
        capacity = conn.execute(
            select(HostRow.cpu_capacity_milli).where(HostRow.name == dockyard.host)
        ).scalar_one()
        used = conn.execute(
            select(HostRow.cpu_used_milli).where(HostRow.name == dockyard.host)
        ).scalar_one()
        # Fill the host so that only 100 milli-CPUs are left.
        conn.execute(
            update(HostRow)
            .where(HostRow.name == dockyard.host)
            .values(cpu_used_milli=capacity - 100)
        )
    try:
        response = dockyard.request("PATCH", path(uuid), json={"cpu": 1.0})
        assert response.status_code == 409, response.text
        assert "cpu" in response.json()["errors"][0]["detail"]
        assert dockyard.show(uuid)["cpu"] == 0.25
        assert limits(dockyard, uuid)[0] == pytest.approx(0.25)
        assert claimed(dockyard)[0] == capacity - 100
    finally:
        with dockyard.node.db.write() as conn:
            conn.execute(
                update(HostRow).where(HostRow.name == dockyard.host).values(cpu_used_milli=used)
            )


def test_resize_container_answers_the_old_record_then_applies(dockyard: Dockyard) -> None:
    uuid = run(dockyard, cpu=0.25, memory=32)

    response = dockyard.request(
        "POST", path(uuid, "resize_container"), "container 1.19", json={"cpu": "0.5", "memory": 40}
    )

    assert response.status_code == 202, response.text
    assert (response.json()["cpu"], response.json()["memory"]) == (0.25, "32")
    deadline = time.monotonic() + 15
    while (dockyard.show(uuid)["cpu"], dockyard.show(uuid)["memory"]) != (0.5, "40"):
        assert time.monotonic() < deadline, "resize_container was never applied"
        time.sleep(0.1)
    assert limits(dockyard, uuid) == (pytest.approx(0.5), 40 * 2**20)


def test_resize_container_needs_1_19(dockyard: Dockyard, sleeper: str) -> None:
    response = dockyard.request(
        "POST", path(sleeper, "resize_container"), "container 1.18", json={"cpu": 0.5}
    )
    assert response.status_code == 406


# --- top and stats ------------------------------------------------------------------------


def test_top_lists_the_processes(dockyard: Dockyard, sleeper: str) -> None:
    # Running means started: the shell may not have forked its sleep yet.
    deadline = time.monotonic() + 10
    while True:
        default = dockyard.request("GET", path(sleeper, "top"), params={"ps_args": "None"})
        assert default.status_code == 200, default.text
        body = default.json()
        assert set(body) == {"Titles", "Processes"}
        assert "PID" in body["Titles"]
        if any("sleep 300" in " ".join(row) for row in body["Processes"]):
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.2)

    custom = dockyard.request("GET", path(sleeper, "top"), params={"ps_args": "-o pid,comm"})
    assert custom.status_code == 200, custom.text
    assert custom.json()["Titles"] == ["PID", "COMMAND"]


@pytest.mark.parametrize("ps_args", ["\u00d5", "--no-such-option"])
def test_top_with_options_ps_refuses_is_a_400(
    dockyard: Dockyard, sleeper: str, ps_args: str
) -> None:
    # Found by the OpenAPI fuzzing run: the engine's 500 for ps's refusal was a 502.
    response = dockyard.request("GET", path(sleeper, "top"), params={"ps_args": ps_args})
    assert response.status_code == 400, response.text
    assert error_code(response) == "container.invalid-value"
    assert "ps_args" in response.json()["errors"][0]["detail"]


def test_top_rejects_unknown_parameters(dockyard: Dockyard, sleeper: str) -> None:
    response = dockyard.request("GET", path(sleeper, "top"), params={"pid": "1"})
    assert response.status_code == 400
    assert error_code(response) == "container.schema-validation-error"


def engine_cpu_percent(dockyard: Dockyard, uuid: str) -> float:
    """The container's CPU % over the engine's own one-second sample, as `docker stats`."""
    [found] = dockyard.docker.containers.list(filters={"label": f"{LABEL_CONTAINER_ID}={uuid}"})
    stats = found.stats(stream=False)
    now, before = stats["cpu_stats"], stats["precpu_stats"]
    used = now["cpu_usage"]["total_usage"] - before["cpu_usage"]["total_usage"]
    system = now["system_cpu_usage"] - before.get("system_cpu_usage", 0)
    cpus = now.get("online_cpus") or len(now["cpu_usage"].get("percpu_usage") or [1])
    return float(used / system * cpus * 100) if system > 0 else 0.0


def test_stats_of_a_busy_and_an_idle_container(dockyard: Dockyard, sleeper: str) -> None:
    busy = run(dockyard, BUSY, cpu=0.5, memory=32)
    try:
        loaded = dockyard.request("GET", path(busy, "stats"))
        assert loaded.status_code == 200, loaded.text
        sample = loaded.json()
        assert set(sample) == STATS_KEYS
        assert sample["CONTAINER"] == dockyard.show(busy)["name"]
        # Half a CPU of quota: about 50 %. The best of a few samples, as other work on a
        # small test machine can starve the loop during one sampling second; if every
        # sample was starved, the engine's own reading beside each must say so too.
        samples = [(sample["CPU %"], engine_cpu_percent(dockyard, busy))]
        while len(samples) < 4 and not any(30 <= ours <= 70 for ours, _ in samples):
            ours = dockyard.request("GET", path(busy, "stats")).json()["CPU %"]
            samples.append((ours, engine_cpu_percent(dockyard, busy)))
        if not any(30 <= ours <= 70 for ours, _ in samples):
            assert all(engine < 30 and abs(ours - engine) <= 10 for ours, engine in samples), (
                samples
            )
        assert sample["MEM LIMIT(MiB)"] == pytest.approx(32)
        assert 0 < sample["MEM USAGE(MiB)"] < 32
        assert sample["MEM %"] == pytest.approx(
            sample["MEM USAGE(MiB)"] / sample["MEM LIMIT(MiB)"] * 100, abs=0.05
        )
        for key in ("BLOCK I/O(B)", "NET I/O(B)"):
            read, write = sample[key].split("/")
            assert read.isdigit() and write.isdigit()
    finally:
        dockyard.request("DELETE", path(busy), params={"force": "True"})

    idle = dockyard.request("GET", path(sleeper, "stats")).json()
    assert idle["CPU %"] < 5


def test_stats_of_a_stopped_container_conflicts(dockyard: Dockyard) -> None:
    uuid = run(dockyard)
    dockyard.request("POST", path(uuid, "stop"))
    dockyard.wait_for(uuid, "Stopped")
    response = dockyard.request("GET", path(uuid, "stats"))
    assert response.status_code == 409
    assert error_code(response) == "container.invalid-state-exception"


# --- archives -----------------------------------------------------------------------------


def test_binary_archive_round_trip_in_base64(dockyard: Dockyard, sleeper: str) -> None:
    content = bytes(range(256))
    data = base64.b64encode(tar_of("every-byte.bin", content)).decode()

    put = dockyard.request(
        "POST", path(sleeper, "put_archive"), params={"path": "/tmp"}, json={"data": data}
    )
    assert put.status_code == 200, put.text
    got = dockyard.request(
        "GET", path(sleeper, "get_archive"), params={"path": "/tmp/every-byte.bin"}
    )

    assert got.status_code == 200, got.text
    body = got.json()
    assert untar_one(base64.b64decode(body["data"])) == ("every-byte.bin", content)
    stat = body["stat"]
    assert (stat["name"], stat["size"], stat["linkTarget"]) == ("every-byte.bin", 256, "")
    assert stat["mode"] == 0o644
    assert stat["mtime"][:4].isdigit() and "T" in stat["mtime"]


def test_text_archive_round_trip_before_1_25(dockyard: Dockyard, sleeper: str) -> None:
    content = b"plain text\nsecond line\n"
    data = tar_of("note.txt", content).decode("latin-1")

    put = dockyard.request(
        "POST",
        path(sleeper, "put_archive"),
        "container 1.24",
        params={"path": "/tmp"},
        json={"data": data},
    )
    assert put.status_code == 200, put.text
    got = dockyard.request(
        "GET", path(sleeper, "get_archive"), "container 1.24", params={"path": "/tmp/note.txt"}
    )

    assert got.status_code == 200, got.text
    assert untar_one(got.json()["data"].encode("latin-1")) == ("note.txt", content)
    assert exec_output(dockyard, sleeper, "cat /tmp/note.txt") == content.decode()


@pytest.mark.parametrize(
    ("method", "action", "params", "body", "code"),
    [
        ("GET", "get_archive", {}, None, "invalid"),
        ("GET", "get_archive", {"path": "/no/such/file"}, None, "invalid"),
        ("POST", "put_archive", {}, {"data": ""}, "invalid"),
        ("POST", "put_archive", {"path": "/no/such/dir"}, {"data": "AAAA"}, "invalid"),
        ("POST", "put_archive", {"path": "/tmp"}, {"data": "not base64!"}, "base-64-exception"),
        ("POST", "put_archive", {"path": "/tmp"}, None, "invalid-value"),
        # Found by the OpenAPI fuzzing run: base64 of characters beyond ASCII was a 500.
        ("POST", "put_archive", {"path": "/tmp"}, {"data": "\u00d5\ud800"}, "base-64-exception"),
    ],
    ids=[
        "get-no-path",
        "get-missing-path",
        "put-no-path",
        "put-missing-dir",
        "put-bad-b64",
        "put-no-data",
        "put-non-ascii-b64",
    ],
)
def test_bad_archive_requests(
    dockyard: Dockyard,
    sleeper: str,
    method: str,
    action: str,
    params: dict[str, str],
    body: dict[str, str] | None,
    code: str,
) -> None:
    response = dockyard.request(method, path(sleeper, action), params=params, json=body)
    assert response.status_code == 400, response.text
    assert error_code(response) == f"container.{code}"


# --- commit -------------------------------------------------------------------------------


def test_commit_makes_a_local_image_and_records_the_action(
    dockyard: Dockyard, committed_images: list[str]
) -> None:
    uuid = run(dockyard)
    exec_output(dockyard, uuid, "sh -c 'echo kept > /marker'")
    repository = f"dockyard-test/committed-{uuidlib.uuid4().hex[:8]}"
    committed_images.append(f"{repository}:v1")

    response = dockyard.request(
        "POST", path(uuid, "commit"), params={"repository": repository, "tag": "v1"}
    )

    assert response.status_code == 202, response.text
    image = dockyard.docker.api.inspect_image(f"{repository}:v1")
    assert response.json() == {"uuid": image["Id"]}
    assert dockyard.show(uuid)["status"] == "Running"
    assert dockyard.docker.api.inspect_container(f"dockyard-{uuid}")["State"]["Paused"] is False
    action = wait_action_finished(dockyard, uuid, "commit")
    assert action["message"] is None


def test_commit_tag_defaults_to_latest(dockyard: Dockyard, committed_images: list[str]) -> None:
    uuid = run(dockyard)
    repository = f"dockyard-test/committed-{uuidlib.uuid4().hex[:8]}"
    committed_images.append(f"{repository}:latest")

    response = dockyard.request("POST", path(uuid, "commit"), params={"repository": repository})

    assert response.status_code == 202, response.text
    assert (
        dockyard.docker.api.inspect_image(f"{repository}:latest")["Id"] == response.json()["uuid"]
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "repository"),
        ({"repository": "Not A Repo"}, "repository"),
        ({"repository": "repo:tagged"}, "repository"),
        ({"repository": "repo", "tag": "bad tag"}, "tag"),
    ],
    ids=["missing", "malformed", "with-tag", "bad-tag"],
)
def test_commit_validates_the_target(
    dockyard: Dockyard, sleeper: str, params: dict[str, str], field: str
) -> None:
    response = dockyard.request("POST", path(sleeper, "commit"), params=params)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"][0]["detail"]


# --- rebuild ------------------------------------------------------------------------------


def test_rebuild_of_a_running_container_recreates_and_restarts_it(dockyard: Dockyard) -> None:
    uuid = run(dockyard, cpu=0.25, memory=32)
    exec_output(dockyard, uuid, "sh -c 'echo old > /marker'")
    old_id = dockyard.docker.api.inspect_container(f"dockyard-{uuid}")["Id"]
    name = dockyard.show(uuid)["name"]

    response = dockyard.request("POST", path(uuid, "rebuild"))

    assert response.status_code == 202, response.text
    rebuilt = dockyard.wait_for(uuid, "Running")
    assert rebuilt["name"] == name
    engine = dockyard.docker.api.inspect_container(f"dockyard-{uuid}")
    assert engine["Id"] != old_id
    assert engine["HostConfig"]["NanoCpus"] == 250_000_000
    assert engine["Config"]["Labels"]["dockyard.container_id"] == uuid
    assert "No such file" in exec_output(dockyard, uuid, "cat /marker")
    assert wait_action_finished(dockyard, uuid, "rebuild")["message"] is None


def test_rebuild_persists_rebuilding_at_once(dockyard: Dockyard) -> None:
    uuid = run(dockyard)
    states: list[tuple[str, str | None]] = []

    def record(body: dict[str, Any]) -> None:
        states.append((body["status"], body["task_state"]))

    # Hold the agent's worker on this container so the reservation stays visible.
    with dockyard.node.agent._locks.hold(uuid):
        assert dockyard.request("POST", path(uuid, "rebuild")).status_code == 202
        record(dockyard.show(uuid))
        again = dockyard.request("POST", path(uuid, "rebuild"))
    assert states == [("Rebuilding", "container_rebuilding")]
    assert again.status_code == 409
    dockyard.wait_for(uuid, "Running")


def test_rebuild_of_a_stopped_container_with_a_new_image(
    dockyard: Dockyard, committed_images: list[str]
) -> None:
    source = run(dockyard)
    exec_output(dockyard, source, "sh -c 'echo from-image > /marker'")
    repository = f"dockyard-test/committed-{uuidlib.uuid4().hex[:8]}"
    committed_images.append(f"{repository}:latest")
    commit = dockyard.request("POST", path(source, "commit"), params={"repository": repository})
    assert commit.status_code == 202, commit.text
    target = run(dockyard)
    dockyard.request("POST", path(target, "stop"))
    dockyard.wait_for(target, "Stopped")

    response = dockyard.request(
        "POST", path(target, "rebuild"), json={"image": repository, "image_driver": "docker"}
    )

    assert response.status_code == 202, response.text
    rebuilt = dockyard.wait_for(target, "Created")
    assert rebuilt["image"] == repository
    assert dockyard.request("POST", path(target, "start")).status_code == 202
    dockyard.wait_for(target, "Running")
    assert exec_output(dockyard, target, "cat /marker") == "from-image\n"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"image": "Not An Image"}, "image-not-found"),
        ({"image_driver": "glance"}, "validation-error"),
    ],
    ids=["bad-image", "glance"],
)
def test_rebuild_validates_its_parameters(
    dockyard: Dockyard, sleeper: str, body: dict[str, str], code: str
) -> None:
    response = dockyard.request("POST", path(sleeper, "rebuild"), json=body)
    assert response.status_code == 400, response.text
    assert error_code(response) == f"container.{code}"
    assert dockyard.show(sleeper)["status"] == "Running"


def test_rebuild_with_an_image_the_host_cannot_get_fails_early(
    dockyard: Dockyard, sleeper: str
) -> None:
    response = dockyard.request(
        "POST", path(sleeper, "rebuild"), params={"image": "no-such/image:1"}
    )
    assert response.status_code == 400, response.text
    assert dockyard.show(sleeper)["status"] == "Running"


def test_the_busybox_image_is_untouched(dockyard: Dockyard) -> None:
    assert dockyard.docker.images.get(TEST_IMAGE)
