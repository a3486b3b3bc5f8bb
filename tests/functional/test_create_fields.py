"""Every create field Docker honours, checked in what the engine really created.

Each test creates a container over HTTP and reads ``docker inspect`` of
``dockyard-<uuid>`` (or looks inside the container) to prove the field reached
the engine; fields Dockyard cannot honour must be refused with a 400 naming
them, never dropped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shlex
import time
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest
import requests
from sqlalchemy import update

from dockyard.db.models import HostRow
from dockyard.db.repositories.hosts import HostRepository
from tests.conftest import REGISTRY_IMAGE, TEST_IMAGE, Dockyard, require

pytestmark = pytest.mark.docker

#: Exits at once on SIGTERM, so stops and deletes are quick.
KEEP_RUNNING = "trap 'exit 0' TERM; sleep 300 & wait"
SLEEPER = ["sh", "-c", KEEP_RUNNING]


@pytest.fixture
def created(dockyard: Dockyard) -> Iterator[list[str]]:
    """UUIDs to delete (forcibly) after the test, so claims do not pile up."""
    uuids: list[str] = []
    yield uuids
    for uuid in uuids:
        dockyard.request("DELETE", f"/v1/containers/{uuid}?force=true")
    for uuid in uuids:
        dockyard.wait_gone(uuid)


def create(
    dockyard: Dockyard,
    created: list[str],
    body: dict[str, Any],
    version: str = "container 1.40",
    status: str = "Running",
    run: bool = True,
) -> dict[str, Any]:
    # Before 1.20 a command is one string, split like a shell.
    command = SLEEPER if _minor(version) >= 20 else shlex.join(SLEEPER)
    response = dockyard.create({"command": command, **body}, run=run, version=version)
    assert response.status_code == 202, response.text
    uuid = str(response.json()["uuid"])
    created.append(uuid)
    return dockyard.wait_for(uuid, status, "Stopped" if status == "Running" else status)


def _minor(version: str) -> int:
    return int(version.rsplit(".", 1)[1])


def inspect(dockyard: Dockyard, uuid: str) -> dict[str, Any]:
    return dict(dockyard.docker.containers.get(f"dockyard-{uuid}").attrs)


def refused(dockyard: Dockyard, body: dict[str, Any], version: str = "container 1.40") -> str:
    """The 400 detail for ``body``; nothing may have been created."""
    before = {c.id for c in dockyard.engine_containers()}
    command = SLEEPER if _minor(version) >= 20 else shlex.join(SLEEPER)
    response = dockyard.create({"command": command, **body}, version=version)
    assert response.status_code == 400, response.text
    assert {c.id for c in dockyard.engine_containers()} == before
    return str(response.json()["errors"][0]["detail"])


def in_container(dockyard: Dockyard, uuid: str, command: str) -> str:
    result = dockyard.docker.containers.get(f"dockyard-{uuid}").exec_run(["sh", "-c", command])
    assert result.exit_code == 0, result.output
    return bytes(result.output).decode().strip()


# --- fields that were passed through already -----------------------------------------------


def test_string_command_before_1_20_is_split_like_a_shell(
    dockyard: Dockyard, created: list[str]
) -> None:
    command = f'sh -c "{KEEP_RUNNING}"'
    container = create(dockyard, created, {"command": command}, version="container 1.19")
    assert container["command"] == ["sh", "-c", KEEP_RUNNING]
    assert inspect(dockyard, container["uuid"])["Config"]["Cmd"] == ["sh", "-c", KEEP_RUNNING]


def test_list_command_and_entrypoint(dockyard: Dockyard, created: list[str]) -> None:
    container = create(dockyard, created, {"entrypoint": ["sh", "-c"], "command": [KEEP_RUNNING]})
    config = inspect(dockyard, container["uuid"])["Config"]
    assert config["Entrypoint"] == ["sh", "-c"]
    assert config["Cmd"] == [KEEP_RUNNING]
    assert container["entrypoint"] == ["sh", "-c"]


def test_environment_workdir_and_labels(dockyard: Dockyard, created: list[str]) -> None:
    body = {
        "environment": {"GREETING": "hello world"},
        "workdir": "/tmp",
        "labels": {"team": "blue"},
    }
    container = create(dockyard, created, body)
    config = inspect(dockyard, container["uuid"])["Config"]
    assert "GREETING=hello world" in config["Env"]
    assert config["WorkingDir"] == "/tmp"
    assert config["Labels"] == {
        "team": "blue",
        "dockyard.container_id": container["uuid"],
        "dockyard.host": dockyard.host,
        "dockyard.installation": dockyard.node.agent.installation,
    }
    assert in_container(dockyard, container["uuid"], "pwd; echo $GREETING") == "/tmp\nhello world"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"Name": "no"}, {"Name": "no", "MaximumRetryCount": 0}),
        (
            {"Name": "on-failure", "MaximumRetryCount": "3"},
            {"Name": "on-failure", "MaximumRetryCount": 3},
        ),
        ({"Name": "always"}, {"Name": "always", "MaximumRetryCount": 0}),
        ({"Name": "unless-stopped"}, {"Name": "unless-stopped", "MaximumRetryCount": 0}),
    ],
    ids=lambda value: value["Name"] if "MaximumRetryCount" not in value else None,
)
def test_restart_policy(
    dockyard: Dockyard, created: list[str], policy: dict[str, str], expected: dict[str, Any]
) -> None:
    container = create(dockyard, created, {"restart_policy": policy})
    actual = inspect(dockyard, container["uuid"])["HostConfig"]["RestartPolicy"]
    # The engine reports "no" as an empty name.
    assert {**actual, "Name": actual["Name"] or "no"} == expected


def test_auto_remove(dockyard: Dockyard, created: list[str]) -> None:
    container = create(dockyard, created, {"auto_remove": True}, version="container 1.3")
    assert inspect(dockyard, container["uuid"])["HostConfig"]["AutoRemove"] is True
    assert container["auto_remove"] is True


@pytest.mark.parametrize(
    ("version", "body", "stdin_open", "tty"),
    [
        ("container 1.36", {"interactive": True}, True, False),
        ("container 1.36", {"tty": True}, False, True),
        ("container 1.36", {"interactive": True, "tty": True}, True, True),
        # 1.20-1.35: interactive is copied into tty.
        ("container 1.35", {"interactive": True}, True, True),
        ("container 1.20", {"interactive": False, "tty": True}, False, False),
    ],
)
def test_interactive_and_tty(
    dockyard: Dockyard,
    created: list[str],
    version: str,
    body: dict[str, Any],
    stdin_open: bool,
    tty: bool,
) -> None:
    container = create(dockyard, created, body, version=version)
    config = inspect(dockyard, container["uuid"])["Config"]
    assert (config["OpenStdin"], config["Tty"]) == (stdin_open, tty)
    assert (container["interactive"], container["tty"]) == (stdin_open, tty)


def test_hostname(dockyard: Dockyard, created: list[str]) -> None:
    container = create(dockyard, created, {"hostname": "box-1"}, version="container 1.9")
    assert inspect(dockyard, container["uuid"])["Config"]["Hostname"] == "box-1"
    assert in_container(dockyard, container["uuid"], "hostname") == "box-1"
    assert container["hostname"] == "box-1"


def test_runtime_runc_is_used_and_an_unknown_one_refused(
    dockyard: Dockyard, created: list[str]
) -> None:
    container = create(dockyard, created, {"runtime": "runc"}, version="container 1.5")
    assert inspect(dockyard, container["uuid"])["HostConfig"]["Runtime"] == "runc"
    assert container["runtime"] == "runc"
    assert "runtime" in refused(dockyard, {"runtime": "kata"}, version="container 1.5")


# --- image_pull_policy -----------------------------------------------------------------------


def _pulls_of(dockyard: Dockyard, image: str, since: int) -> list[dict[str, Any]]:
    until = int(time.time()) + 1
    events = dockyard.docker.events(
        since=since, until=until, filters={"type": "image", "event": "pull"}, decode=True
    )
    return [e for e in events if e.get("id") == image or e.get("Actor", {}).get("ID") == image]


def _next_second() -> int:
    """A fresh whole second, so event windows of consecutive tests do not overlap."""
    time.sleep(1.05 - time.time() % 1)
    return int(time.time())


@pytest.fixture
def registry_image_local(dockyard: Dockyard) -> str:
    try:
        dockyard.docker.images.pull(REGISTRY_IMAGE)
    except docker.errors.APIError as exc:
        require(False, f"the test registry at 127.0.0.1:5001 serving {REGISTRY_IMAGE}: {exc}")
    return REGISTRY_IMAGE


def test_pull_policy_always_pulls_an_image_present_locally(
    dockyard: Dockyard, created: list[str], registry_image_local: str
) -> None:
    since = _next_second()
    body = {"image": registry_image_local, "image_pull_policy": "Always"}
    container = create(dockyard, created, body)
    assert container["image_pull_policy"] == "always"
    assert _pulls_of(dockyard, registry_image_local, since), "the engine pulled nothing"


def test_pull_policy_ifnotpresent_uses_the_local_image(
    dockyard: Dockyard, created: list[str], registry_image_local: str
) -> None:
    since = _next_second()
    create(dockyard, created, {"image": registry_image_local, "image_pull_policy": "ifnotpresent"})
    assert _pulls_of(dockyard, registry_image_local, since) == []


def test_pull_policy_ifnotpresent_pulls_a_missing_image(
    dockyard: Dockyard, created: list[str], registry_image_local: str
) -> None:
    dockyard.docker.images.remove(registry_image_local)  # the other tag keeps the layers
    since = _next_second()
    create(dockyard, created, {"image": registry_image_local, "image_pull_policy": "IfNotPresent"})
    assert _pulls_of(dockyard, registry_image_local, since)


def test_pull_policy_never(dockyard: Dockyard, created: list[str]) -> None:
    since = _next_second()
    create(dockyard, created, {"image": TEST_IMAGE, "image_pull_policy": "never"})
    assert _pulls_of(dockyard, TEST_IMAGE, since) == []
    missing = "127.0.0.1:5001/dockyard-test/busybox:never-pulled"
    with contextlib.suppress(docker.errors.ImageNotFound):
        dockyard.docker.images.remove(missing)
    detail = refused(dockyard, {"image": missing, "image_pull_policy": "never"})
    assert missing in detail


# --- privileged and healthcheck -----------------------------------------------------------


def test_privileged(dockyard: Dockyard, created: list[str]) -> None:
    # Only created: an engine that itself runs without every capability (as in this
    # test environment) cannot start privileged containers; the request is what counts.
    container = create(
        dockyard, created, {"privileged": True}, "container 1.21", status="Created", run=False
    )
    assert inspect(dockyard, container["uuid"])["HostConfig"]["Privileged"] is True
    assert container["privileged"] is True
    plain = create(dockyard, created, {"privileged": False}, version="container 1.21")
    assert inspect(dockyard, plain["uuid"])["HostConfig"]["Privileged"] is False


def test_healthcheck_reaches_the_engine_and_its_state_the_api(
    dockyard: Dockyard, created: list[str]
) -> None:
    check = {"cmd": "true", "interval": 1, "retries": 2, "timeout": 3}
    container = create(dockyard, created, {"healthcheck": check}, version="container 1.22")
    assert container["healthcheck"] == {"test": "true", "interval": 1, "retries": 2, "timeout": 3}
    assert inspect(dockyard, container["uuid"])["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"],
        "Interval": 1_000_000_000,
        "Timeout": 3_000_000_000,
        "Retries": 2,
    }
    deadline = time.monotonic() + 15
    while not dockyard.show(container["uuid"])["status_detail"].endswith(" (healthy)"):
        assert time.monotonic() < deadline, dockyard.show(container["uuid"])["status_detail"]
        time.sleep(0.2)
    assert inspect(dockyard, container["uuid"])["State"]["Health"]["Status"] == "healthy"


# --- exposed_ports --------------------------------------------------------------------------


def test_exposed_ports_are_published_on_loopback(dockyard: Dockyard, created: list[str]) -> None:
    serve = (
        "trap 'exit 0' TERM; mkdir -p /www && echo hello from httpd > /www/index.html; "
        "httpd -f -p 8080 -h /www & wait"
    )
    body = {"command": ["sh", "-c", serve], "exposed_ports": {"8080/tcp": {}, "9999/udp": {}}}
    response = dockyard.create(body, version="container 1.24")
    assert response.status_code == 202, response.text
    assert response.json()["ports"] == [8080, 9999]
    created.append(response.json()["uuid"])
    container = dockyard.wait_for(response.json()["uuid"], "Running")
    assert container["ports"] == [8080, 9999]
    published = inspect(dockyard, container["uuid"])["NetworkSettings"]["Ports"]
    assert published["9999/udp"][0]["HostIp"] == "127.0.0.1"
    (binding,) = published["8080/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    url = f"http://127.0.0.1:{binding['HostPort']}/index.html"
    deadline = time.monotonic() + 10
    while True:
        try:
            page = requests.get(url, timeout=5)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"nothing answers at {url}"
            time.sleep(0.2)
    assert page.status_code == 200
    assert page.text == "hello from httpd\n"


# --- cpu_policy -----------------------------------------------------------------------------


def test_dedicated_cpus_are_pinned_to_the_least_used(
    dockyard: Dockyard, created: list[str]
) -> None:
    host_cpus = int(dockyard.docker.info()["NCPU"])
    if host_cpus < 2:
        pytest.skip(
            f"!!! SKIPPED: pinning two containers apart needs two CPUs; this host has {host_cpus}"
        )
    cpusets = []
    for _ in range(2):
        body = {"cpu_policy": "dedicated", "cpu": 1}
        container = create(dockyard, created, body, version="container 1.28")
        assert container["cpu_policy"] == "dedicated"
        cpuset = inspect(dockyard, container["uuid"])["HostConfig"]["CpusetCpus"]
        assert (
            in_container(dockyard, container["uuid"], "cat /sys/fs/cgroup/cpuset/cpuset.cpus")
            == cpuset
        )
        cpusets.append(cpuset)
    assert sorted(cpusets) == ["0", "1"]
    shared = create(dockyard, created, {"cpu_policy": "shared"}, version="container 1.28")
    assert inspect(dockyard, shared["uuid"])["HostConfig"]["CpusetCpus"] == ""


def test_dedicated_with_more_cpus_than_any_host_is_refused(dockyard: Dockyard) -> None:
    too_many = int(dockyard.docker.info()["NCPU"]) + 1
    body = {"cpu_policy": "dedicated", "cpu": too_many}
    assert refused(dockyard, body, version="container 1.28").startswith("cpu_policy:")


# --- disk -----------------------------------------------------------------------------------


def test_disk_is_limited_or_refused_naming_the_storage_driver(
    dockyard: Dockyard, created: list[str]
) -> None:
    host = dockyard.node.agent.runtime.host_info()
    if host.supports_disk_quota:
        container = create(dockyard, created, {"disk": 1})
        assert inspect(dockyard, container["uuid"])["HostConfig"]["StorageOpt"] == {"size": "1G"}
        return
    detail = refused(dockyard, {"disk": 1})
    assert detail == (
        f"disk: the storage driver ({host.storage_driver}) of the hosts cannot limit "
        "container disk size."
    )


@contextlib.contextmanager
def host_with_disk_quotas(dockyard: Dockyard, disk_gib: int) -> Iterator[str]:
    """A second registered host whose storage driver can limit disk, with no agent behind it:
    placement may consider it, so it must never be chosen (it has no disk room)."""
    name = f"disk-{uuidlib.uuid4().hex[:8]}"
    hosts = HostRepository(dockyard.node.db, dt.timedelta(minutes=10))
    hosts.report(
        name,
        {
            "cpus": 4,
            "memory_mib": 8192,
            "disk_gib": disk_gib,
            "cpu_capacity_milli": 64_000,
            "memory_capacity": 65_536,
            "runtimes": ["runc"],
            "info": {"storage_driver": "xfs-pquota", "supports_disk_quota": True},
        },
    )
    try:
        yield name
    finally:
        hosts.delete(name)


def disk_used(dockyard: Dockyard) -> dict[str, int]:
    with dockyard.node.db.engine.connect() as conn:
        rows = conn.execute(HostRow.__table__.select()).all()
    return {row.name: row.disk_used for row in rows}


@contextlib.contextmanager
def disk_filled(dockyard: Dockyard) -> Iterator[None]:
    """This machine's host with its disk claimed to the last GiB (agents never report
    ``disk_used``: only claims move it)."""
    mine = HostRow.name == dockyard.host
    with dockyard.node.db.write() as conn:
        conn.execute(update(HostRow).where(mine).values(disk_used=HostRow.disk_used + 10**6))
    try:
        yield
    finally:
        with dockyard.node.db.write() as conn:
            conn.execute(update(HostRow).where(mine).values(disk_used=HostRow.disk_used - 10**6))


def test_disk_placement_is_refused_when_no_host_has_the_room(
    dockyard: Dockyard, created: list[str]
) -> None:
    # This machine's host may not limit disk (overlay2 on ext4 cannot); a host that can,
    # with no disk room, makes the request possible some day but not now.
    real = dockyard.node.agent.runtime.host_info()
    with host_with_disk_quotas(dockyard, disk_gib=0) as full, disk_filled(dockyard):
        before = disk_used(dockyard)
        response = dockyard.create({"command": SLEEPER, "disk": 1})
        assert response.status_code == 202, response.text
        uuid = str(response.json()["uuid"])
        created.append(uuid)
        reason = dockyard.wait_for(uuid, "Error")["status_reason"]
        assert disk_used(dockyard) == before, "a refused placement claims nothing"
    mine = f"{dockyard.host}: {'disk' if real.supports_disk_quota else 'disk_quota'}"
    reasons = sorted([f"{full}: disk", mine])
    assert reason == f"There are not enough hosts available ({'; '.join(reasons)})."
    labels = {c.labels.get("dockyard.container_id") for c in dockyard.engine_containers()}
    assert uuid not in labels


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"nets": [{"network": "nowhere"}]}, 404),
        ({"nets": [{"port": "nothing"}]}, 404),
        ({"nets": [{"network": "private", "port": "p"}]}, 400),
        ({"nets": [{"network": "private", "v4-fixed-ip": "fd00::1"}]}, 400),
        ({"security_groups": ["no-such-group"]}, 400),
    ],
    ids=["unknown-network", "unknown-port", "network-and-port", "v6-as-v4", "unknown-group"],
)
def test_nets_and_groups_that_cannot_be_met_create_nothing(
    dockyard: Dockyard, body: dict[str, Any], status: int
) -> None:
    before = {c.id for c in dockyard.engine_containers()}
    listed = len(dockyard.request("GET", "/v1/containers").json()["containers"])

    response = dockyard.create({"command": SLEEPER, **body})

    assert response.status_code == status, response.text
    assert {c.id for c in dockyard.engine_containers()} == before
    assert len(dockyard.request("GET", "/v1/containers").json()["containers"]) == listed


def test_a_network_without_a_subnet_is_refused_before_anything_is_claimed(
    dockyard: Dockyard,
) -> None:
    made = dockyard.request("POST", "/v2.0/networks", json={"network": {"name": "bare"}})
    assert made.status_code == 201, made.text
    before = {c.id for c in dockyard.engine_containers()}
    listed = len(dockyard.request("GET", "/v1/containers").json()["containers"])

    response = dockyard.create({"command": SLEEPER, "nets": [{"network": "bare"}]})

    assert response.status_code == 400, response.text
    assert "has no subnet to take addresses from" in response.text
    assert {c.id for c in dockyard.engine_containers()} == before
    assert len(dockyard.request("GET", "/v1/containers").json()["containers"]) == listed
    gone = dockyard.request("DELETE", f"/v2.0/networks/{made.json()['network']['id']}")
    assert gone.status_code == 204, gone.text
