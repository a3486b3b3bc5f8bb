import dataclasses
import json
from typing import Any

import pytest

from dockyard.domain.container_request import (
    CpuPolicy,
    ExposedPort,
    Protocol,
    PullPolicy,
    RestartPolicyName,
)
from dockyard.domain.errors import (
    Conflict,
    ContainerNotFound,
    DockyardError,
    InvalidImage,
    ServiceBusy,
)
from dockyard.domain.models import Container, ExecResult, LogOptions, RestartPolicy
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.states import Status, TaskState
from dockyard.rpc import codec
from dockyard.rpc.api import ComputeAPIEndpoint, ControlAPI
from dockyard.rpc.messages import ContainerOperation, CreateContainer
from tests.support.rpc_samples import CONTAINER, MESSAGES, RESULTS, SPEC, UUID

COMPUTE = codec.signatures(ComputeAPIEndpoint)
CONTROL = codec.signatures(ControlAPI)


def over_the_wire(value: Any) -> Any:
    """What a peer receives: JSON text, never objects."""
    return json.loads(json.dumps(codec.encode(value)))


@pytest.mark.parametrize("value", MESSAGES + RESULTS, ids=lambda v: type(v).__name__)
def test_every_message_and_result_round_trips(value: Any) -> None:
    assert codec.decode(type(value), over_the_wire(value)) == value


def test_messages_carry_their_version() -> None:
    for message in MESSAGES:
        assert over_the_wire(message)["version"] == "2.0"


def test_a_container_keeps_its_types() -> None:
    back = codec.decode(Container, over_the_wire(CONTAINER))
    assert back.status is Status.RUNNING
    assert back.task_state is TaskState.CONTAINER_STOPPING
    assert back.started_at == CONTAINER.started_at
    assert over_the_wire(CONTAINER)["created_at"] == "2025-03-04T05:06:07.891011"
    assert back.restart_policy == RestartPolicy(RestartPolicyName.ON_FAILURE, 3)
    assert back.cpu_policy is CpuPolicy.DEDICATED
    assert back.exposed_ports == (ExposedPort(80),)


def test_a_create_keeps_the_request_types() -> None:
    message = CreateContainer(SPEC, True, PullPolicy.NEVER, "req-1")
    back = codec.decode(CreateContainer, over_the_wire(message))
    assert back.pull_policy is PullPolicy.NEVER
    assert back.spec.restart_policy is not None
    assert back.spec.restart_policy.name is RestartPolicyName.ON_FAILURE
    assert back.spec.restart_policy.maximum_retry_count == 3
    assert back.spec.exposed_ports == (ExposedPort(80), ExposedPort(53, Protocol.UDP))
    assert over_the_wire(message)["spec"]["exposed_ports"][1] == {"number": 53, "protocol": "udp"}


def test_a_pull_policy_argument_decodes_as_the_enum() -> None:
    sig = COMPUTE["check_image"]
    args = {"image": "busybox", "pull_policy": PullPolicy.ALWAYS, "auth": None}
    wire = json.loads(json.dumps(codec.encode_args(sig, args)))
    assert codec.decode_args(sig, wire)[1] is PullPolicy.ALWAYS
    with pytest.raises(codec.WireFormatError):
        codec.decode_args(sig, {**wire, "pull_policy": "sometimes"})


def test_bytes_travel_as_base64_text() -> None:
    archive = next(r for r in RESULTS if hasattr(r, "data"))
    wire = over_the_wire(archive)
    assert isinstance(wire["data"], str)
    assert codec.decode(type(archive), wire).data == archive.data


def test_unions_pick_the_member_the_data_fits() -> None:
    assert codec.decode(LogOptions, {"since": 17}).since == 17
    assert codec.decode(LogOptions, {"since": "2025-01-01T00:00:00"}).since.year == 2025
    assert codec.decode(Container | None, None) is None


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (int, "1"),
        (int, True),
        (str, 1),
        (bool, 0),
        (bytes, "not base64!"),
        (ExecResult, ["x", 0]),
        (ExecResult, {"output": 1, "exit_code": 0}),
        (ExecResult, {"exit_code": 0}),
        (tuple[str, str], ["a"]),
    ],
)
def test_data_of_the_wrong_shape_is_refused(kind: Any, data: Any) -> None:
    with pytest.raises(codec.WireFormatError):
        codec.decode(kind, data)


def test_an_incompatible_message_version_is_refused() -> None:
    wire = over_the_wire(ContainerOperation(UUID, "stop", "r"))
    with pytest.raises(codec.WireFormatError, match="version 1.0"):
        codec.decode(ContainerOperation, {**wire, "version": "1.0"})
    newer_minor = {**wire, "version": "2.7", "added_later": True}
    assert codec.decode(ContainerOperation, newer_minor).uuid == UUID


def test_objects_without_a_wire_form_are_refused() -> None:
    with pytest.raises(codec.WireFormatError):
        codec.encode(object())


def test_signatures_cover_every_protocol_method() -> None:
    assert set(COMPUTE) == {
        "create", "operate", "check_image", "logs", "execute", "update_limits", "resize",
        "rebuild", "commit", "top", "stats", "get_archive", "put_archive", "exec_session",
        "exec_resize", "resize_tty", "pull_image", "remove_image", "search_images",
        "apply_firewall", "networks_changed",
    }  # fmt: skip
    assert set(CONTROL) == {
        "report", "settle", "record_event", "container_removed", "report_host", "resize_claim",
        "containers_on_host", "container", "spend_console_token", "installation", "claim_host",
        "release_host", "report_image", "sync_images", "host_networks", "host_firewall",
        "image_records", "host_volumes", "volumes_removed", "network_detached",
    }  # fmt: skip
    assert COMPUTE["create"].params == {"message": CreateContainer}


def test_call_arguments_round_trip() -> None:
    sig = COMPUTE["execute"]
    wire = json.loads(json.dumps(codec.encode_args(sig, {"uuid": UUID, "command": ("ls", "/")})))
    assert codec.decode_args(sig, wire) == [UUID, ["ls", "/"]]
    with pytest.raises(codec.WireFormatError, match="missing command"):
        codec.decode_args(sig, {"uuid": UUID})


def test_replies_carry_results() -> None:
    sig = CONTROL["containers_on_host"]
    reply = json.loads(json.dumps(codec.reply([CONTAINER])))
    assert codec.unwrap(sig, reply) == [CONTAINER]
    assert codec.unwrap(CONTROL["container"], codec.reply(None)) is None


@pytest.mark.parametrize(
    "error",
    [
        ContainerNotFound("Container x could not be found.", uuid="x"),
        Conflict("Not enough memory on node-1.", resource="memory", needed=64),
        ServiceBusy("The agent of host h is busy."),
        InvalidImage("no such image"),
        DockyardError("engine exploded"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_come_back_as_the_same_class(error: DockyardError) -> None:
    reply = json.loads(json.dumps(codec.reply_error(error)))
    with pytest.raises(type(error)) as raised:
        codec.unwrap(COMPUTE["logs"], reply)
    assert type(raised.value) is type(error)
    assert raised.value.detail == error.detail
    assert raised.value.fields == error.fields


def test_a_malformed_reply_is_refused() -> None:
    with pytest.raises(codec.WireFormatError):
        codec.unwrap(COMPUTE["logs"], "just text")


def test_dataclass_fields_all_have_a_wire_form() -> None:
    for value in MESSAGES + RESULTS:
        for field in dataclasses.fields(value):
            codec.encode(getattr(value, field.name))


def test_registry_credentials_cross_but_never_show_in_a_repr() -> None:
    auth = RegistryAuth("registry.example.com:5000", "robot", "s3cr3t-pw")
    message = CreateContainer(SPEC, True, "always", "req-1", auth=auth)

    received = codec.decode(CreateContainer, over_the_wire(message))

    assert received.auth == auth and received.auth is not None
    assert received.auth.password == "s3cr3t-pw"
    assert "s3cr3t-pw" not in repr(received) and "s3cr3t-pw" not in str(received)
    assert "robot" in repr(received)


def test_a_message_from_a_peer_without_credentials_decodes_without_them() -> None:
    wire = over_the_wire(CreateContainer(SPEC, True, "always", "req-1"))
    del wire["auth"]
    assert codec.decode(CreateContainer, wire).auth is None
