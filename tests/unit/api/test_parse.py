"""From a schema-valid create body to the domain's ContainerRequest, at each microversion."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api import parse
from dockyard.domain.container_request import (
    ContainerRequest,
    CpuPolicy,
    ExposedPort,
    Healthcheck,
    Protocol,
    PullPolicy,
    RestartPolicy,
    RestartPolicyName,
)
from dockyard.domain.errors import InvalidImage, InvalidInput
from dockyard.domain.images import ImageRef
from dockyard.domain.networks import NetRequest
from dockyard.domain.volumes import MountLimits, MountRequest, MountType

LATEST = (1, 40)


def parsed(version: tuple[int, int] = LATEST, **body: Any) -> ContainerRequest:
    return parse.container_request({"image": "busybox", **body}, version)


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ({"80": {}}, (ExposedPort(80, Protocol.TCP),)),
        ({"0080": {}, "80/tcp": {}}, (ExposedPort(80),)),
        ({"8080/tcp": {}, "53/udp": {}}, (ExposedPort(53, Protocol.UDP), ExposedPort(8080))),
        ({}, ()),
        (None, ()),
    ],
)
def test_exposed_ports_are_typed_and_normalised(
    ports: Any, expected: tuple[ExposedPort, ...]
) -> None:
    assert parsed(exposed_ports=ports).exposed_ports == expected


@pytest.mark.parametrize(("disk", "expected"), [(None, None), (5, 5), ("10", 10)])
def test_disk_is_passed_on(disk: Any, expected: int | None) -> None:
    assert parsed(disk=disk).disk == expected


@pytest.mark.parametrize(
    ("body", "cpu", "memory"), [({}, None, None), ({"cpu": "0.5", "memory": "64"}, 0.5, 64)]
)
def test_cpu_and_memory_are_numbers(body: dict[str, Any], cpu: Any, memory: Any) -> None:
    request = parsed(**body)
    assert (request.cpu, request.memory) == (cpu, memory)


@pytest.mark.parametrize(
    ("body", "expected"),
    [({}, CpuPolicy.SHARED), ({"cpu_policy": "dedicated"}, CpuPolicy.DEDICATED)],
)
def test_cpu_policy_is_an_enum(body: dict[str, Any], expected: CpuPolicy) -> None:
    assert parsed(**body).cpu_policy is expected


@pytest.mark.parametrize(
    ("version", "command", "expected"),
    [
        ((1, 19), "sh -c 'echo hi there'", ("sh", "-c", "echo hi there")),
        ((1, 1), "sleep 5", ("sleep", "5")),
        ((1, 20), ["sh", "-c", "echo hi there"], ("sh", "-c", "echo hi there")),
        ((1, 40), [], ()),
        (LATEST, None, None),
    ],
    ids=["string-1.19", "string-1.1", "argv-1.20", "empty-argv", "absent"],
)
def test_command_is_an_argv_tuple_at_every_version(
    version: tuple[int, int], command: Any, expected: tuple[str, ...] | None
) -> None:
    assert parsed(version, command=command).command == expected


def test_entrypoint_is_an_argv_tuple() -> None:
    assert parsed(entrypoint=["/bin/sh", "-c"]).entrypoint == ("/bin/sh", "-c")
    assert parsed().entrypoint is None


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, None),
        ({"Name": "no"}, RestartPolicy(RestartPolicyName.NO, 0)),
        (
            {"Name": "on-failure", "MaximumRetryCount": "3"},
            RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
        ),
        (
            {"Name": "on-failure", "MaximumRetryCount": 4},
            RestartPolicy(RestartPolicyName.ON_FAILURE, 4),
        ),
        ({"Name": "on-failure"}, RestartPolicy(RestartPolicyName.ON_FAILURE, 0)),
        ({"Name": "no", "MaximumRetryCount": "2"}, RestartPolicy(RestartPolicyName.NO, 0)),
        ({"Name": "always", "MaximumRetryCount": "0"}, RestartPolicy(RestartPolicyName.ALWAYS)),
        ({"Name": "unless-stopped"}, RestartPolicy(RestartPolicyName.UNLESS_STOPPED)),
    ],
)
def test_restart_policy_has_an_enum_name_and_an_int_count(
    policy: Any, expected: RestartPolicy | None
) -> None:
    request = parsed(restart_policy=policy)
    assert request.restart_policy == expected
    if expected is not None:
        assert type(request.restart_policy.maximum_retry_count) is int  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["always", "unless-stopped"])
def test_retries_with_a_policy_that_never_gives_up_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parsed(restart_policy={"Name": name, "MaximumRetryCount": "3"})
    assert "MaximumRetryCount must be 0" in raised.value.detail


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (None, None),
        ({"cmd": "true"}, Healthcheck("true")),
        (
            {"cmd": "curl -f localhost", "interval": 1, "retries": 2, "timeout": 3},
            Healthcheck("curl -f localhost", interval=1, retries=2, timeout=3),
        ),
        ({"cmd": "true", "interval": 0}, Healthcheck("true", interval=0)),
    ],
)
def test_healthcheck_is_typed_with_the_durations_given(
    check: Any, expected: Healthcheck | None
) -> None:
    assert parsed((1, 22), healthcheck=check).healthcheck == expected


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, None),
        ("IfNotPresent", PullPolicy.IF_NOT_PRESENT),
        ("always", PullPolicy.ALWAYS),
        ("Never", PullPolicy.NEVER),
    ],
)
def test_pull_policy_is_an_enum(policy: str | None, expected: PullPolicy | None) -> None:
    assert parsed(image_pull_policy=policy).image_pull_policy is expected


def test_the_image_is_parsed_once_and_kept_as_written() -> None:
    request = parse.container_request({"image": "127.0.0.1:5001/team/app:v2"}, LATEST)
    assert request.image == "127.0.0.1:5001/team/app:v2"
    assert request.image_ref == ImageRef("127.0.0.1:5001", "team/app", "v2", None)


def test_a_bad_image_reference_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidImage) as raised:
        parse.container_request({"image": "Bad/Name"}, LATEST)
    assert raised.value.fields == {"field": "image"}


@pytest.mark.parametrize(
    ("version", "body", "interactive", "tty"),
    [
        ((1, 19), {"interactive": True}, True, False),
        ((1, 20), {"interactive": True}, True, True),
        ((1, 35), {"interactive": "true", "tty": False}, True, True),
        ((1, 36), {"interactive": True, "tty": False}, True, False),
        ((1, 36), {"tty": "yes"}, False, True),
    ],
)
def test_interactive_means_a_tty_from_1_20_to_1_35(
    version: tuple[int, int], body: dict[str, Any], interactive: bool, tty: bool
) -> None:
    request = parsed(version, **body)
    assert (request.interactive, request.tty) == (interactive, tty)


@pytest.mark.parametrize(
    ("driver", "expected"), [(None, ""), ("None", ""), ("docker", "docker"), ("glance", "glance")]
)
def test_no_image_driver_is_left_to_the_configured_default(
    driver: str | None, expected: str
) -> None:
    assert parsed(image_driver=driver).image_driver == expected


def test_a_glance_image_is_kept_as_named_not_parsed_as_a_reference() -> None:
    request = parsed(image="My Image", image_driver="glance")
    assert (request.image, request.image_ref) == ("My Image", None)


def test_the_rest_is_passed_on_as_given() -> None:
    request = parsed(
        name="web",
        environment={"A": "1"},
        labels={"team": 7},
        workdir="/srv",
        hostname="box",
        auto_remove=True,
        auto_heal="true",
        privileged="False",
        runtime="runc",
        availability_zone="nova",
        host="node-1",
        registry="mine",
    )
    assert (request.name, request.environment, request.labels) == ("web", {"A": "1"}, {"team": "7"})
    assert (request.workdir, request.hostname, request.runtime) == ("/srv", "box", "runc")
    assert (request.auto_remove, request.auto_heal, request.privileged) == (True, True, False)
    assert (request.availability_zone, request.host, request.registry) == ("nova", "node-1", "mine")


def test_mounts_become_typed_requests_in_order() -> None:
    request = parsed(
        mounts=[
            {"source": "data", "destination": "/data"},
            {"size": "2", "destination": "/scratch/"},
            {"type": "bind", "source": "aGk=", "destination": "/etc/app.conf"},
        ]
    )

    assert request.mounts == (
        MountRequest(MountType.VOLUME, "/data", source="data"),
        MountRequest(MountType.VOLUME, "/scratch", size_gib=2),
        MountRequest(MountType.BIND, "/etc/app.conf", content=b"hi"),
    )


def test_mounts_are_checked_against_the_configured_limits() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse.container_request(
            {"image": "nginx", "mounts": [{"size": 3, "destination": "/d"}]},
            (1, 40),
            MountLimits(max_size_gib=2),
        )

    assert raised.value.fields.get("field") == "size"


def test_nets_become_typed_requests_in_order() -> None:
    request = parsed(
        nets=[
            {"network": "private", "v4-fixed-ip": "10.0.0.5"},
            {"port": "3f0c1d2e-port"},
            {"network": "v6net", "v6-fixed-ip": "fd00::5"},
        ]
    )

    assert request.nets == (
        NetRequest(network="private", v4_fixed_ip="10.0.0.5"),
        NetRequest(port="3f0c1d2e-port"),
        NetRequest(network="v6net", v6_fixed_ip="fd00::5"),
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"network": "a", "port": "b"},
        {"port": "p", "v4-fixed-ip": "10.0.0.5"},
        {"network": "a", "v4-fixed-ip": "fd00::1"},
        {"network": "a", "v6-fixed-ip": "10.0.0.1"},
    ],
)
def test_nets_entries_that_cannot_be_met_are_refused(entry: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        parsed(nets=[entry])


def test_security_groups_are_deduplicated_in_order() -> None:
    request = parsed(security_groups=["web", "default", "web"])

    assert request.security_groups == ("web", "default")


def test_no_nets_and_no_groups_ask_for_the_projects_defaults() -> None:
    request = parsed()

    assert (request.nets, request.security_groups) == ((), ())
