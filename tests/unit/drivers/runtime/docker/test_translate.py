"""The Docker backend's pure translations: specs to engine payloads, inspect data to models."""

from __future__ import annotations

import datetime as dt
from typing import Any

import docker
import pytest

from dockyard.domain.container_request import ExposedPort, Protocol
from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST, LABEL_INSTALLATION
from dockyard.domain.models import (
    ContainerSpec,
    Healthcheck,
    RestartPolicy,
)
from dockyard.domain.networks import Endpoint
from dockyard.domain.states import Status
from dockyard.domain.status_detail import human_duration
from dockyard.domain.volumes import HostMount, HostVolume
from dockyard.drivers.runtime.docker import events, translate

UUID = "0b7a3f4e-1111-4c2d-9e3f-000000000001"
INSTALLATION = "5f1d2c3b-aaaa-4bbb-8ccc-000000000001"
NOW = dt.datetime(2024, 5, 1, 12, 0, 0)
UNSET = "0001-01-01T00:00:00Z"


def spec(**overrides: Any) -> ContainerSpec:
    fields: dict[str, Any] = {
        "uuid": UUID,
        "name": "web",
        "image": "dockyard-test/busybox:latest",
        "host": "node-1",
    }
    return ContainerSpec(**{**fields, **overrides})


# --- create_kwargs -------------------------------------------------------------------------


def test_create_kwargs_defaults() -> None:
    kwargs = translate.create_kwargs(spec(), INSTALLATION)

    assert kwargs == {
        "image": "dockyard-test/busybox:latest",
        "name": f"dockyard-{UUID}",
        "environment": {},
        "working_dir": None,
        "hostname": None,
        "labels": {
            LABEL_CONTAINER_ID: UUID,
            LABEL_HOST: "node-1",
            LABEL_INSTALLATION: INSTALLATION,
        },
        "stdin_open": False,
        "tty": False,
        "detach": True,
        "host_config": {
            "mem_limit": 512 * 2**20,
            "memswap_limit": 512 * 2**20,
            "nano_cpus": 1_000_000_000,
            "privileged": False,
            "auto_remove": False,
        },
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"command": ("sleep", "300")}, {"command": ["sleep", "300"]}),
        ({"command": ()}, {"command": []}),
        ({"entrypoint": ("/bin/sh", "-c")}, {"entrypoint": ["/bin/sh", "-c"]}),
        ({"environment": {"A": "1"}}, {"environment": {"A": "1"}}),
        ({"workdir": "/srv"}, {"working_dir": "/srv"}),
        ({"hostname": "box"}, {"hostname": "box"}),
        ({"interactive": True, "tty": True}, {"stdin_open": True, "tty": True}),
        (
            {"labels": {"team": "a", LABEL_HOST: "spoofed", LABEL_INSTALLATION: "spoofed"}},
            {
                "labels": {
                    "team": "a",
                    LABEL_CONTAINER_ID: UUID,
                    LABEL_HOST: "node-1",
                    LABEL_INSTALLATION: INSTALLATION,
                }
            },
        ),
        (
            {"healthcheck": Healthcheck(test="true", interval=10, retries=3, timeout=2)},
            {
                "healthcheck": {
                    "test": ["CMD-SHELL", "true"],
                    "interval": 10_000_000_000,
                    "timeout": 2_000_000_000,
                    "retries": 3,
                }
            },
        ),
        (
            {"healthcheck": Healthcheck(test="curl -f localhost")},
            {"healthcheck": {"test": ["CMD-SHELL", "curl -f localhost"]}},
        ),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_create_kwargs_mapping(overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    kwargs = translate.create_kwargs(spec(**overrides), INSTALLATION)

    assert {key: kwargs.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"memory_mib": 64}, {"mem_limit": 67_108_864, "memswap_limit": 67_108_864}),
        ({"cpu": 0.5}, {"nano_cpus": 500_000_000}),
        ({"cpu": 2.25}, {"nano_cpus": 2_250_000_000}),
        ({"privileged": True}, {"privileged": True}),
        ({"auto_remove": True}, {"auto_remove": True}),
        ({"runtime": "runc"}, {"runtime": "runc"}),
        ({"runtime": None}, {"runtime": None}),
        (
            {"restart_policy": RestartPolicy("on-failure", 5)},
            {"restart_policy": {"Name": "on-failure", "MaximumRetryCount": 5}},
        ),
        (
            {"restart_policy": RestartPolicy("always")},
            {"restart_policy": {"Name": "always", "MaximumRetryCount": 0}},
        ),
        ({"restart_policy": RestartPolicy("no")}, {"restart_policy": None}),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_host_config_mapping(overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    host_config = translate.create_kwargs(spec(**overrides), INSTALLATION)["host_config"]

    assert {key: host_config.get(key) for key in expected} == expected
    assert "cpu_shares" not in host_config
    # Like `docker run`: the command is PID 1, so a missing program fails the start.
    assert "init" not in host_config


def test_create_kwargs_leaves_out_unset_optionals() -> None:
    kwargs = translate.create_kwargs(spec(), INSTALLATION)

    assert not {"command", "entrypoint", "healthcheck"} & kwargs.keys()
    assert not {"runtime", "restart_policy"} & kwargs["host_config"].keys()


def test_create_kwargs_is_accepted_by_docker_py() -> None:
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    kwargs = translate.create_kwargs(
        spec(
            command=("sleep", "1"),
            restart_policy=RestartPolicy("on-failure", 2),
            healthcheck=Healthcheck(test="true", interval=5),
            runtime="runc",
        ),
        INSTALLATION,
    )
    kwargs["host_config"] = api.create_host_config(**kwargs["host_config"])

    kwargs.pop("name")  # a parameter of the request, not of the config
    config = api.create_container_config(**kwargs)

    assert config["HostConfig"]["NanoCpus"] == 1_000_000_000
    assert config["HostConfig"]["Memory"] == config["HostConfig"]["MemorySwap"] == 512 * 2**20
    assert "Init" not in config["HostConfig"]
    assert config["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]


# --- observe -------------------------------------------------------------------------------


def inspect_doc(state: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base_state = {
        "Status": "created",
        "Running": False,
        "Paused": False,
        "Restarting": False,
        "OOMKilled": False,
        "Dead": False,
        "ExitCode": 0,
        "Error": "",
        "StartedAt": UNSET,
        "FinishedAt": UNSET,
    }
    doc: dict[str, Any] = {
        "Id": "f" * 64,
        "RestartCount": 0,
        "State": {**base_state, **state},
        "Config": {
            "Hostname": "f00dcafe",
            "Cmd": ["sleep", "300"],
            "ExposedPorts": {"8080/tcp": {}, "53/udp": {}, "80/tcp": {}},
            "Labels": {LABEL_CONTAINER_ID: UUID, LABEL_HOST: "node-1"},
        },
    }
    doc.update(extra)
    return doc


STARTED = "2024-05-01T11:57:00.123456789Z"
FINISHED = "2024-05-01T11:58:00.5Z"


@pytest.mark.parametrize(
    ("state", "status", "detail", "exit_code"),
    [
        ({}, Status.CREATED, "Created", None),
        (
            {"Status": "running", "Running": True, "StartedAt": STARTED},
            Status.RUNNING,
            "Up 2 minutes",
            None,
        ),
        (
            {"Status": "running", "Running": True, "StartedAt": "2024-05-01T11:59:30Z"},
            Status.RUNNING,
            "Up 30 seconds",
            None,
        ),
        (
            {"Status": "paused", "Running": True, "Paused": True, "StartedAt": STARTED},
            Status.PAUSED,
            "Up 2 minutes (Paused)",
            None,
        ),
        (
            {
                "Status": "running",
                "Running": True,
                "StartedAt": "2024-05-01T09:00:00Z",
                "Health": {"Status": "healthy"},
            },
            Status.RUNNING,
            "Up 3 hours (healthy)",
            None,
        ),
        (
            {"Status": "exited", "ExitCode": 0, "StartedAt": STARTED, "FinishedAt": FINISHED},
            Status.STOPPED,
            "Exited (0) About a minute ago",
            0,
        ),
        (
            {
                "Status": "exited",
                "ExitCode": 137,
                "StartedAt": "2024-04-01T00:00:00Z",
                "FinishedAt": "2024-04-20T12:00:00Z",
            },
            Status.STOPPED,
            "Exited (137) 11 days ago",
            137,
        ),
        ({"Status": "dead", "Dead": True, "ExitCode": 1}, Status.DEAD, "Dead", 1),
        ({"Status": "restarting", "Restarting": True}, Status.RESTARTING, "Restarting", None),
        (
            {
                "Status": "restarting",
                "Running": True,
                "Restarting": True,
                "ExitCode": 2,
                "StartedAt": STARTED,
                "FinishedAt": "2024-05-01T11:59:55Z",
            },
            Status.RESTARTING,
            "Restarting (2) 5 seconds ago",
            None,
        ),
        ({"Status": "removing"}, Status.DELETING, "Removal In Progress", None),
        ({"Status": "bogus"}, Status.UNKNOWN, "Created", None),
    ],
    ids=lambda value: value.get("Status", "created") if isinstance(value, dict) else None,
)
def test_observe_states(
    state: dict[str, Any], status: Status, detail: str, exit_code: int | None
) -> None:
    observed = translate.observe(inspect_doc(state), now=NOW)

    assert (observed.status, observed.status_detail, observed.exit_code) == (
        status,
        detail,
        exit_code,
    )


def test_observe_fields() -> None:
    doc = inspect_doc(
        {
            "Status": "exited",
            "ExitCode": 137,
            "OOMKilled": True,
            "Error": "oom",
            "StartedAt": STARTED,
            "FinishedAt": FINISHED,
        },
        RestartCount=4,
    )

    observed = translate.observe(doc, now=NOW)

    assert observed.uuid == UUID
    assert observed.runtime_id == "f" * 64
    assert observed.oom_killed is True
    assert observed.error == "oom"
    assert observed.restart_count == 4
    assert observed.hostname == "f00dcafe"
    assert observed.ports == (53, 80, 8080)
    assert observed.command == ("sleep", "300")
    assert observed.started_at == dt.datetime(2024, 5, 1, 11, 57, 0, 123456)
    assert observed.finished_at == dt.datetime(2024, 5, 1, 11, 58, 0, 500000)


def test_observe_tolerates_sparse_documents() -> None:
    observed = translate.observe({"Id": "abc", "State": {"Status": "created"}}, now=NOW)

    assert observed.uuid == ""
    assert observed.command is None
    assert observed.ports == ()
    assert observed.started_at is None
    assert observed.hostname is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (UNSET, None),
        ("", None),
        (None, None),
        ("2024-05-01T11:57:00Z", dt.datetime(2024, 5, 1, 11, 57)),
        ("2024-05-01T11:57:00.123456789Z", dt.datetime(2024, 5, 1, 11, 57, 0, 123456)),
        ("2024-05-01T13:57:00.1+02:00", dt.datetime(2024, 5, 1, 11, 57, 0, 100000)),
    ],
)
def test_parse_time(text: str | None, expected: dt.datetime | None) -> None:
    assert translate.parse_time(text) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (180, "3 minutes"),
        (3600, "About an hour"),
        (5 * 3600, "5 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(dt.timedelta(seconds=seconds)) == expected


# --- observe_summary -----------------------------------------------------------------------


def summary_item(state: str, status: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Id": "e" * 64,
        "Names": [f"/dockyard-{UUID}"],
        "State": state,
        "Status": status,
        "Labels": {LABEL_CONTAINER_ID: UUID, LABEL_HOST: "node-1"},
        "Ports": [],
    }
    item.update(extra)
    return item


@pytest.mark.parametrize(
    ("state", "status_text", "status", "exit_code"),
    [
        ("created", "Created", Status.CREATED, None),
        ("running", "Up 3 minutes", Status.RUNNING, None),
        ("paused", "Up 5 minutes (Paused)", Status.PAUSED, None),
        ("exited", "Exited (0) 2 minutes ago", Status.STOPPED, 0),
        ("exited", "Exited (137) 2 hours ago", Status.STOPPED, 137),
        ("restarting", "Restarting (1) 2 seconds ago", Status.RESTARTING, None),
        ("dead", "Dead", Status.DEAD, None),
    ],
)
def test_observe_summary_states(
    state: str, status_text: str, status: Status, exit_code: int | None
) -> None:
    observed = translate.observe_summary(summary_item(state, status_text))

    assert observed.uuid == UUID
    assert observed.runtime_id == "e" * 64
    assert (observed.status, observed.status_detail, observed.exit_code) == (
        status,
        status_text,
        exit_code,
    )


def test_observe_summary_ports_are_unique_and_sorted() -> None:
    ports = [
        {"PrivatePort": 8080, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
    ]

    observed = translate.observe_summary(summary_item("running", "Up", Ports=ports))

    assert observed.ports == (80, 8080)


# --- names and signals ---------------------------------------------------------------------


def test_container_name() -> None:
    assert translate.container_name(UUID) == f"dockyard-{UUID}"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("KILL", "SIGKILL"),
        ("sigkill", "SIGKILL"),
        ("SIGKILL", "SIGKILL"),
        ("9", "SIGKILL"),
        ("15", "SIGTERM"),
        ("term", "SIGTERM"),
        (" SigHup ", "SIGHUP"),
        ("10", "SIGUSR1"),
        ("19", "SIGSTOP"),
        ("34", "34"),
        (None, None),
        ("None", None),
        ("", None),
    ],
)
def test_signal_name(given: str | None, expected: str | None) -> None:
    assert translate.signal_name(given) == expected


# --- exposed ports, dedicated CPUs, disk, health -------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "ports", "host_config"),
    [
        (
            {"exposed_ports": (ExposedPort(8080), ExposedPort(53, Protocol.UDP))},
            [(8080, "tcp"), (53, "udp")],
            {
                "port_bindings": {
                    "8080/tcp": ("127.0.0.1", None),
                    "53/udp": ("127.0.0.1", None),
                }
            },
        ),
        (
            {"exposed_ports": (ExposedPort(80),)},
            [(80, "tcp")],
            {"port_bindings": {"80/tcp": ("127.0.0.1", None)}},
        ),
        ({"cpuset_cpus": "0,1"}, None, {"cpuset_cpus": "0,1"}),
        ({"disk_gib": 10}, None, {"storage_opt": {"size": "10G"}}),
        (
            {"volumes": (HostMount(HostVolume("v-1", 1), "/data"),)},
            None,
            {"binds": {"dockyard-volume-v-1": {"bind": "/data", "mode": "rw"}}},
        ),
        (
            {},
            None,
            {"port_bindings": None, "cpuset_cpus": None, "storage_opt": None, "binds": None},
        ),
    ],
    ids=["tcp-and-udp", "default-tcp", "cpuset", "disk", "volumes", "none"],
)
def test_create_kwargs_ports_cpuset_and_disk(
    overrides: dict[str, Any], ports: Any, host_config: dict[str, Any]
) -> None:
    kwargs = translate.create_kwargs(spec(**overrides), INSTALLATION)

    assert kwargs.get("ports") == ports
    assert {key: kwargs["host_config"].get(key) for key in host_config} == host_config


def test_ports_are_published_on_the_given_address() -> None:
    kwargs = translate.create_kwargs(
        spec(exposed_ports=(ExposedPort(80),)), INSTALLATION, publish_address="0.0.0.0"
    )

    assert kwargs["host_config"]["port_bindings"] == {"80/tcp": ("0.0.0.0", None)}


def test_ports_cpuset_and_disk_are_accepted_by_docker_py() -> None:
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    kwargs = translate.create_kwargs(
        spec(
            command=("sleep", "1"),
            exposed_ports=(ExposedPort(8080), ExposedPort(53, Protocol.UDP)),
            cpuset_cpus="1",
            disk_gib=2,
        ),
        INSTALLATION,
    )
    kwargs["host_config"] = api.create_host_config(**kwargs["host_config"])

    kwargs.pop("name")
    config = api.create_container_config(**kwargs)

    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert config["HostConfig"]["PortBindings"] == {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
    }
    assert config["HostConfig"]["CpusetCpus"] == "1"
    assert config["HostConfig"]["StorageOpt"] == {"size": "2G"}


@pytest.mark.parametrize(
    ("info", "supported"),
    [
        ({"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]]}, False),
        ({"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "xfs"]]}, True),
        ({"Driver": "overlay2"}, False),
        ({"Driver": "devicemapper", "DriverStatus": [["Pool Name", "docker-pool"]]}, True),
        ({"Driver": "btrfs"}, True),
        ({"Driver": "zfs"}, True),
        ({"Driver": "vfs"}, False),
        ({}, False),
    ],
    ids=lambda value: str(value.get("Driver", "none")) if isinstance(value, dict) else None,
)
def test_supports_disk_quota(info: dict[str, Any], supported: bool) -> None:
    assert translate.supports_disk_quota(info) is supported


@pytest.mark.parametrize(
    ("health", "detail"),
    [
        ({"Status": "starting"}, "Up 2 minutes (health: starting)"),
        ({"Status": "healthy"}, "Up 2 minutes (healthy)"),
        ({"Status": "unhealthy"}, "Up 2 minutes (unhealthy)"),
        (None, "Up 2 minutes"),
    ],
)
def test_observe_health(health: dict[str, str] | None, detail: str) -> None:
    state: dict[str, Any] = {"Status": "running", "Running": True, "StartedAt": STARTED}
    if health is not None:
        state["Health"] = health

    observed = translate.observe(inspect_doc(state), now=NOW)

    assert observed.health == (health or {}).get("Status")
    assert observed.status_detail == detail


@pytest.mark.parametrize(
    ("status_text", "health"),
    [
        ("Up 3 minutes (healthy)", "healthy"),
        ("Up 3 seconds (health: starting)", "starting"),
        ("Up 3 minutes (unhealthy)", "unhealthy"),
        ("Up 3 minutes", None),
        ("Up 5 minutes (Paused)", None),
    ],
)
def test_observe_summary_health(status_text: str, health: str | None) -> None:
    assert translate.observe_summary(summary_item("running", status_text)).health == health


# --- installation labels ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "installation"),
    [
        (
            {LABEL_CONTAINER_ID: UUID, LABEL_HOST: "node-1", LABEL_INSTALLATION: INSTALLATION},
            INSTALLATION,
        ),
        ({LABEL_CONTAINER_ID: UUID, LABEL_HOST: "node-1"}, None),  # made before the label
    ],
)
def test_observations_carry_the_installation(
    labels: dict[str, str], installation: str | None
) -> None:
    listed = translate.observe_summary(summary_item("running", "Up", Labels=labels))
    inspected = translate.observe({"Id": "e" * 64, "State": {}, "Config": {"Labels": labels}}, NOW)

    assert listed.installation == inspected.installation == installation


@pytest.mark.parametrize("installation", [INSTALLATION, None])
def test_events_carry_the_installation(installation: str | None) -> None:
    attributes = {LABEL_CONTAINER_ID: UUID, LABEL_HOST: "node-1"}
    if installation is not None:
        attributes[LABEL_INSTALLATION] = installation
    raw = {
        "Action": "die",
        "Actor": {"Attributes": attributes},
        "timeNano": 1_700_000_000_000_000_000,
    }

    event = events._parse(raw)

    assert event is not None
    assert (event.uuid, event.action, event.installation) == (UUID, "die", installation)


def test_a_container_is_created_on_its_ports_network_with_its_addresses_and_names() -> None:
    endpoint = Endpoint("dockyard-net-1", "10.1.0.5", "fd00::5", "fa:16:3e:00:00:01", ("web",))
    kwargs = translate.create_kwargs(spec(network=endpoint), INSTALLATION)

    assert kwargs["host_config"]["network_mode"] == "dockyard-net-1"
    assert kwargs["mac_address"] == "fa:16:3e:00:00:01"
    assert kwargs["networking_config"] == {
        "EndpointsConfig": {
            "dockyard-net-1": {
                "IPAMConfig": {"IPv4Address": "10.1.0.5", "IPv6Address": "fd00::5"},
                "Aliases": ["web"],
            }
        }
    }


def test_without_a_network_the_engine_default_is_left_alone() -> None:
    kwargs = translate.create_kwargs(spec(), INSTALLATION)

    assert "network_mode" not in kwargs["host_config"]
    assert "networking_config" not in kwargs and "mac_address" not in kwargs
