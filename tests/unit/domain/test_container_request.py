"""The create request's typed values, and the record and spec made from it."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from dockyard.domain.container_request import (
    STEERING_FIELDS,
    ContainerRequest,
    CpuPolicy,
    ExposedPort,
    Healthcheck,
    Protocol,
    PullPolicy,
    RestartPolicy,
    RestartPolicyName,
)
from dockyard.domain.errors import InvalidInput
from dockyard.domain.images import parse_image
from dockyard.domain.models import Container, ContainerSpec


@pytest.mark.parametrize(
    ("name", "retries", "expected"),
    [
        ("on-failure", 5, RestartPolicy(RestartPolicyName.ON_FAILURE, 5)),
        ("on-failure", 0, RestartPolicy(RestartPolicyName.ON_FAILURE, 0)),
        ("no", 3, RestartPolicy(RestartPolicyName.NO, 0)),
        ("always", 0, RestartPolicy(RestartPolicyName.ALWAYS, 0)),
    ],
)
def test_restart_policy_of(name: str, retries: int, expected: RestartPolicy) -> None:
    assert RestartPolicy.of(name, retries) == expected


def test_retries_are_refused_for_a_policy_that_never_gives_up() -> None:
    with pytest.raises(InvalidInput, match="MaximumRetryCount must be 0"):
        RestartPolicy.of("unless-stopped", 1)


def test_an_unknown_restart_policy_name_is_not_a_policy() -> None:
    with pytest.raises(ValueError):
        RestartPolicy.of("sometimes", 0)


@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("80", ExposedPort(80, Protocol.TCP)),
        ("0080/tcp", ExposedPort(80, Protocol.TCP)),
        ("53/udp", ExposedPort(53, Protocol.UDP)),
    ],
)
def test_exposed_port_parse_and_text(text: str, port: ExposedPort) -> None:
    assert ExposedPort.parse(text) == port
    assert ExposedPort.parse(str(port)) == port


def test_exposed_ports_sort_by_number_then_protocol() -> None:
    ports = [ExposedPort(80, Protocol.UDP), ExposedPort(53), ExposedPort(80)]
    assert [str(p) for p in sorted(ports)] == ["53/tcp", "80/tcp", "80/udp"]


def test_pull_policy_parse_takes_any_case() -> None:
    assert PullPolicy.parse("IfNotPresent") is PullPolicy.IF_NOT_PRESENT


def _hints(kind: type) -> dict[str, object]:
    return typing.get_type_hints(kind)


def test_every_kept_request_field_is_a_record_field_of_the_same_type() -> None:
    request, record = _hints(ContainerRequest), _hints(Container)
    kept = set(request) - STEERING_FIELDS
    # The record may be unset where the request always has a value (rows from before).
    assert {name: record[name] for name in kept} == {
        name: request[name] if name != "image_driver" else str | None for name in kept
    }


REQUEST = ContainerRequest(
    image="busybox",
    image_ref=parse_image("busybox"),
    name="ignored-by-the-record",
    command=("sh", "-c", "sleep 60"),
    entrypoint=("/bin/busybox",),
    cpu=0.5,
    cpu_policy=CpuPolicy.DEDICATED,
    memory=64,
    disk=2,
    environment={"A": "1"},
    labels={"team": "x"},
    workdir="/tmp",
    hostname="box",
    image_pull_policy=PullPolicy.ALWAYS,
    restart_policy=RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
    interactive=True,
    tty=True,
    auto_remove=True,
    auto_heal=True,
    privileged=True,
    runtime="runc",
    healthcheck=Healthcheck("true", interval=2),
    exposed_ports=(ExposedPort(80),),
    host="node-9",
    availability_zone="z",
    registry="mine",
)


def test_a_record_keeps_what_was_asked_and_not_the_steering() -> None:
    record = Container.requested(
        REQUEST, uuid="u-1", name="web", project_id="p", user_id="u", memory=128
    )

    assert record.name == "web"
    assert record.memory == 128  # the create's decision wins
    assert record.host is None  # where it was asked to go is not where it is
    assert record.restart_policy is REQUEST.restart_policy
    assert (record.command, record.exposed_ports) == (REQUEST.command, REQUEST.exposed_ports)
    assert (record.cpu_policy, record.image_pull_policy) == (
        CpuPolicy.DEDICATED,
        PullPolicy.ALWAYS,
    )


def test_the_spec_projects_the_record_without_converting() -> None:
    record = Container.requested(REQUEST, uuid="u-1", name="web", project_id="p", user_id="u")
    record.host = "node-1"
    record.cpuset_cpus = "0"

    spec = record.spec()

    assert spec == ContainerSpec(
        uuid="u-1",
        name="web",
        image="busybox",
        command=("sh", "-c", "sleep 60"),
        entrypoint=("/bin/busybox",),
        cpu=0.5,
        memory_mib=64,
        environment={"A": "1"},
        labels={"team": "x"},
        workdir="/tmp",
        hostname="box",
        interactive=True,
        tty=True,
        auto_remove=True,
        privileged=True,
        runtime="runc",
        restart_policy=RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
        healthcheck=Healthcheck("true", interval=2),
        host="node-1",
        exposed_ports=(ExposedPort(80),),
        cpuset_cpus="0",
        disk_gib=2,
    )
    assert spec.restart_policy is record.restart_policy
    assert spec.healthcheck is record.healthcheck


def test_fields_of_the_request_are_all_known() -> None:
    names = {f.name for f in dataclasses.fields(ContainerRequest)}
    assert names >= STEERING_FIELDS
