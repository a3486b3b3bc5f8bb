from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dockyard.api.schemas import actions, containers
from dockyard.api.schemas.containers import (
    LIST_KEYS,
    Limits,
    check_list_query,
    command_from_string,
    create_body,
    version_gates,
)
from dockyard.api.schemas.validation import RequestValidator, validate
from dockyard.domain.errors import InvalidInput, InvalidParamInVersion, SchemaValidationError

LIMITS = Limits()
V = tuple[int, int]
ALL_VERSIONS = [(1, minor) for minor in range(1, 41)]


def _create(version: V, **fields: Any) -> None:
    validate(create_body(version, LIMITS), {"image": "nginx", **fields})


def _rejects(check: Callable[[], None], field: str | None = None) -> SchemaValidationError:
    with pytest.raises(SchemaValidationError) as info:
        check()
    if field is not None:
        assert info.value.fields.get("field", "").split("/")[0] == field, info.value.detail
    return info.value


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_every_schema_is_valid_draft4(version: V) -> None:
    RequestValidator.check_schema(create_body(version, LIMITS))


@pytest.mark.parametrize(
    "builder",
    [
        containers.run_query,
        containers.delete_query,
        containers.list_query,
        lambda: containers.update_body(LIMITS),
        actions.stop_query,
        actions.reboot_query,
        actions.kill_body,
        actions.logs_query,
        actions.execute_query,
        actions.execute_resize_query,
        actions.resize_query,
        actions.top_query,
        actions.commit_query,
        actions.rename_query,
    ],
)
def test_action_schemas_are_valid_draft4(builder: Callable[[], dict[str, Any]]) -> None:
    RequestValidator.check_schema(builder())


def test_builders_return_fresh_dicts() -> None:
    first = create_body((1, 40), LIMITS)
    first["properties"]["interactive"]["enum"].append("maybe")
    validate(create_body((1, 40), LIMITS), {"image": "nginx", "interactive": "true"})
    _rejects(lambda: _create((1, 40), interactive="maybe"), "interactive")


VALID_CREATE: list[tuple[V, dict[str, Any]]] = [
    ((1, 1), {}),
    ((1, 1), {"image": "docker.io/library/nginx:1.25"}),
    ((1, 1), {"image": "-a_"}),
    ((1, 1), {"name": "web-1.a_b", "command": 'sh -c "echo hi"', "cpu": 0.5}),
    ((1, 1), {"name": None, "command": None, "cpu": None, "memory": None, "disk": None}),
    ((1, 19), {"command": ""}),
    ((1, 20), {"command": ["sh", "-c", "echo hi"]}),
    ((1, 40), {"command": []}),
    ((1, 40), {"entrypoint": ["/bin/sh"], "command": None}),
    ((1, 40), {"entrypoint": None}),
    ((1, 39), {"host": "compute-1.example"}),
    ((1, 1), {"cpu": "0.5"}),
    ((1, 1), {"cpu": ".5"}),
    ((1, 1), {"cpu": "16"}),
    ((1, 1), {"cpu": 0.1}),
    ((1, 1), {"cpu": 16.0}),
    ((1, 1), {"cpu": 2}),
    ((1, 1), {"cpu_policy": "dedicated"}),
    ((1, 1), {"cpu_policy": "shared"}),
    ((1, 1), {"memory": "4"}),
    ((1, 1), {"memory": 8192}),
    ((1, 1), {"memory": "512"}),
    ((1, 1), {"disk": 1}),
    ((1, 1), {"disk": "160"}),
    ((1, 1), {"workdir": "/srv", "environment": {"A": "1"}, "labels": {"a": 1}}),
    ((1, 1), {"environment": None, "labels": None, "hints": {"x": [1]}, "workdir": None}),
    *(
        ((1, 1), {"image_pull_policy": p})
        for p in ["never", "always", "ifnotpresent", "Never", "Always", "IfNotPresent", None]
    ),
    *(((1, 1), {"image_driver": d}) for d in ["docker", "glance", "None", None]),
    ((1, 1), {"restart_policy": None}),
    ((1, 1), {"restart_policy": {"Name": "no"}}),
    ((1, 1), {"restart_policy": {"Name": "on-failure", "MaximumRetryCount": "3"}}),
    ((1, 1), {"restart_policy": {"Name": "unless-stopped", "MaximumRetryCount": 0}}),
    ((1, 1), {"restart_policy": {"Name": "always"}}),
    ((1, 1), {"interactive": True, "tty": "true", "auto_heal": "False", "privileged": False}),
    ((1, 3), {"auto_remove": True}),
    ((1, 3), {"auto_remove": None}),
    ((1, 1), {"security_groups": ["default", "web"]}),
    ((1, 1), {"security_groups": None}),
    ((1, 1), {"nets": [{"network": "private"}, {"port": "p1", "v4-fixed-ip": "10.0.0.3"}]}),
    ((1, 1), {"nets": [{"network": "n", "v6-fixed-ip": "2001:db8::3"}]}),
    ((1, 1), {"nets": []}),
    ((1, 1), {"nets": None}),
    ((1, 11), {"mounts": [{"source": "vol", "destination": "/data"}]}),
    ((1, 11), {"mounts": [{"size": "1", "destination": "/d", "type": "volume"}]}),
    ((1, 11), {"mounts": [{"type": "bind", "source": "aGk=", "destination": "/f"}]}),
    ((1, 11), {"mounts": [{"size": 2, "destination": "/d"}]}),
    ((1, 5), {"runtime": "runc"}),
    ((1, 5), {"runtime": None}),
    ((1, 9), {"hostname": "a"}),
    ((1, 9), {"hostname": "x" * 63}),
    ((1, 9), {"hostname": "my-host.local_1"}),
    ((1, 1), {"availability_zone": "nova"}),
    ((1, 1), {"availability_zone": None}),
    ((1, 22), {"healthcheck": {"cmd": "true", "interval": 10, "retries": 3, "timeout": 0}}),
    ((1, 22), {"healthcheck": {}}),
    ((1, 22), {"healthcheck": None}),
    ((1, 24), {"exposed_ports": {"80": {}, "53/udp": {}, "443/tcp": {}, "65535": {}}}),
    ((1, 24), {"exposed_ports": {"0080": {}}}),
    ((1, 24), {"exposed_ports": None}),
    ((1, 31), {"registry": "myreg"}),
    ((1, 19), {"security_groups": ["a"], "exposed_ports": {"80": {}}}),
    ((1, 20), {"security_groups": ["a"]}),
    ((1, 20), {"exposed_ports": {"80": {}}}),
]


@pytest.mark.parametrize(("version", "fields"), VALID_CREATE)
def test_create_accepts(version: V, fields: dict[str, Any]) -> None:
    _create(version, **fields)


INVALID_CREATE: list[tuple[V, dict[str, Any], str | None]] = [
    ((1, 1), {"image": None}, "image"),
    ((1, 1), {"image": "a"}, "image"),
    ((1, 1), {"image": "a" * 256}, "image"),
    ((1, 1), {"image": "-_"}, "image"),
    ((1, 1), {"image": "!!!!"}, "image"),
    ((1, 1), {"foo": 1}, "foo"),
    ((1, 1), {"name": "a"}, "name"),
    ((1, 1), {"name": "-ab"}, "name"),
    ((1, 1), {"name": "a b"}, "name"),
    ((1, 1), {"name": "web\n"}, "name"),
    ((1, 1), {"name": "a" * 256}, "name"),
    ((1, 1), {"name": 12}, "name"),
    ((1, 11), {"command": ["ls"]}, "command"),
    ((1, 19), {"command": ["ls"]}, "command"),
    ((1, 20), {"command": "ls"}, "command"),
    ((1, 40), {"command": [1]}, "command"),
    ((1, 39), {"entrypoint": ["/bin/sh"]}, "entrypoint"),
    ((1, 1), {"entrypoint": None}, "entrypoint"),
    ((1, 40), {"entrypoint": "/bin/sh"}, "entrypoint"),
    ((1, 38), {"host": "compute-1"}, "host"),
    ((1, 39), {"host": ""}, "host"),
    ((1, 39), {"host": "a/b"}, "host"),
    ((1, 1), {"cpu": 16.1}, "cpu"),
    ((1, 1), {"cpu": "16.1"}, "cpu"),
    ((1, 1), {"cpu": 0.05}, "cpu"),
    ((1, 1), {"cpu": "0"}, "cpu"),
    ((1, 1), {"cpu": ""}, "cpu"),
    ((1, 1), {"cpu": "1,5"}, "cpu"),
    ((1, 1), {"cpu": "-1"}, "cpu"),
    ((1, 1), {"cpu": "."}, "cpu"),
    ((1, 1), {"cpu": True}, "cpu"),
    ((1, 1), {"cpu": [1]}, "cpu"),
    ((1, 1), {"cpu_policy": None}, "cpu_policy"),
    ((1, 1), {"cpu_policy": "x"}, "cpu_policy"),
    ((1, 1), {"memory": "2"}, "memory"),
    ((1, 1), {"memory": 2}, "memory"),
    ((1, 1), {"memory": 8193}, "memory"),
    ((1, 1), {"memory": "8193"}, "memory"),
    ((1, 1), {"memory": "512m"}, "memory"),
    ((1, 1), {"memory": 512.0}, "memory"),
    ((1, 1), {"memory": ""}, "memory"),
    ((1, 1), {"memory": "4\n"}, "memory"),
    ((1, 1), {"disk": 0}, "disk"),
    ((1, 1), {"disk": "161"}, "disk"),
    ((1, 1), {"disk": "1.5"}, "disk"),
    ((1, 1), {"workdir": 1}, "workdir"),
    ((1, 1), {"environment": {"A": 1}}, "environment"),
    ((1, 1), {"environment": ["A=1"]}, "environment"),
    ((1, 1), {"labels": "a=b"}, "labels"),
    ((1, 1), {"hints": []}, "hints"),
    ((1, 1), {"image_pull_policy": "IFNOTPRESENT"}, "image_pull_policy"),
    ((1, 1), {"image_pull_policy": ""}, "image_pull_policy"),
    ((1, 1), {"image_driver": "none"}, "image_driver"),
    ((1, 1), {"image_driver": "podman"}, "image_driver"),
    ((1, 1), {"restart_policy": {"Name": "always", "MaximumRetryCount": "x"}}, "restart_policy"),
    ((1, 1), {"restart_policy": {"Name": "on-failure", "MaximumRetryCount": -1}}, "restart_policy"),
    (
        (1, 1),
        {"restart_policy": {"Name": "on-failure", "MaximumRetryCount": "-1"}},
        "restart_policy",
    ),
    ((1, 1), {"restart_policy": {"MaximumRetryCount": "1"}}, "restart_policy"),
    ((1, 1), {"restart_policy": {"Name": "sometimes"}}, "restart_policy"),
    ((1, 1), {"restart_policy": {"Name": "no", "Extra": 1}}, "restart_policy"),
    ((1, 1), {"restart_policy": "always"}, "restart_policy"),
    ((1, 1), {"interactive": "yes"}, "interactive"),
    ((1, 1), {"tty": 1}, "tty"),
    ((1, 1), {"auto_heal": None}, "auto_heal"),
    ((1, 21), {"privileged": "1"}, "privileged"),
    ((1, 3), {"auto_remove": "true"}, "auto_remove"),
    ((1, 1), {"security_groups": "default"}, "security_groups"),
    ((1, 1), {"security_groups": [""]}, "security_groups"),
    ((1, 1), {"security_groups": ["a" * 256]}, "security_groups"),
    ((1, 1), {"nets": [{}]}, "nets"),
    ((1, 1), {"nets": [{"network": "a", "port": "b"}]}, "nets"),
    ((1, 1), {"nets": [{"v4-fixed-ip": "10.0.0.1"}]}, "nets"),
    ((1, 1), {"nets": [{"network": "a", "v4-fixed-ip": "10.0.0.300"}]}, "nets"),
    ((1, 1), {"nets": [{"network": "a", "v4-fixed-ip": "::1"}]}, "nets"),
    ((1, 1), {"nets": [{"network": "a", "v6-fixed-ip": "10.0.0.1"}]}, "nets"),
    ((1, 1), {"nets": [{"network": "a", "fixed-ip": "10.0.0.1"}]}, "nets"),
    ((1, 1), {"nets": [{"network": ""}]}, "nets"),
    ((1, 1), {"nets": {"network": "a"}}, "nets"),
    ((1, 11), {"mounts": [{"source": "vol"}]}, "mounts"),
    ((1, 11), {"mounts": [{"size": "1"}]}, "mounts"),
    ((1, 11), {"mounts": [{"destination": "/d"}]}, "mounts"),
    ((1, 11), {"mounts": [{"source": "v", "destination": "/d", "readonly": True}]}, "mounts"),
    ((1, 11), {"mounts": [{"size": 1.5, "destination": "/d"}]}, "mounts"),
    ((1, 5), {"runtime": 1}, "runtime"),
    ((1, 9), {"hostname": None}, "hostname"),
    ((1, 9), {"hostname": ""}, "hostname"),
    ((1, 9), {"hostname": "x" * 64}, "hostname"),
    ((1, 9), {"hostname": "a b"}, "hostname"),
    ((1, 1), {"availability_zone": ""}, "availability_zone"),
    ((1, 22), {"healthcheck": {"cmd": 1}}, "healthcheck"),
    ((1, 22), {"healthcheck": {"interval": -1}}, "healthcheck"),
    ((1, 22), {"healthcheck": {"retries": "3"}}, "healthcheck"),
    ((1, 22), {"healthcheck": {"timeout": 1.5}}, "healthcheck"),
    ((1, 22), {"healthcheck": {"test": "true"}}, "healthcheck"),
    ((1, 22), {"healthcheck": "true"}, "healthcheck"),
    ((1, 24), {"exposed_ports": {"0": {}}}, "exposed_ports"),
    ((1, 24), {"exposed_ports": {"65536": {}}}, "exposed_ports"),
    ((1, 24), {"exposed_ports": {"80/sctp": {}}}, "exposed_ports"),
    ((1, 24), {"exposed_ports": {"80/TCP": {}}}, "exposed_ports"),
    ((1, 24), {"exposed_ports": {"http": {}}}, "exposed_ports"),
    ((1, 24), {"exposed_ports": {"80\n": {}}}, "exposed_ports"),
    ((1, 24), {"exposed_ports": {"80": 1}}, "exposed_ports"),
    ((1, 24), {"exposed_ports": ["80"]}, "exposed_ports"),
    ((1, 31), {"registry": "r"}, "registry"),
    ((1, 31), {"registry": "-reg"}, "registry"),
    ((1, 31), {"registry": None}, "registry"),
    ((1, 20), {"security_groups": ["a"], "exposed_ports": {"80": {}}}, None),
    ((1, 40), {"security_groups": None, "exposed_ports": None}, None),
]


@pytest.mark.parametrize(("version", "fields", "field"), INVALID_CREATE)
def test_create_rejects(version: V, fields: dict[str, Any], field: str | None) -> None:
    _rejects(lambda: _create(version, **fields), field)


def test_create_requires_image() -> None:
    error = _rejects(lambda: validate(create_body((1, 40), LIMITS), {"name": "web"}), "image")
    assert error.detail == "'image' is a required property."


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"memory": 2}, "Invalid input for field 'memory': 2 is less than the minimum of 4."),
        ({"foo": 1}, "Additional properties are not allowed ('foo' was unexpected)."),
        ({"cpu": 16.1}, "Invalid input for field 'cpu': 16.1 is greater than the maximum of 16.0."),
        (
            {"restart_policy": {"Name": "always", "MaximumRetryCount": "x"}},
            "Invalid input for field 'restart_policy/MaximumRetryCount': "
            "'x' does not match '^[0-9]+$'.",
        ),
        (
            {"nets": [{"network": "a", "port": "b"}]},
            "Invalid input for field 'nets/0': {'network': 'a', 'port': 'b'} must contain "
            "exactly one of 'network' or 'port'.",
        ),
        (
            {"nets": [{"network": "a"}, {}]},
            "Invalid input for field 'nets/1': {} must contain exactly one of 'network' or 'port'.",
        ),
        (
            {"mounts": [{"source": "v"}]},
            "Invalid input for field 'mounts/0': {'source': 'v'} must contain "
            "('source' and 'destination') or ('size' and 'destination').",
        ),
        (
            {"security_groups": ["a"], "exposed_ports": {"80": {}}},
            "'security_groups' and 'exposed_ports' cannot be given together.",
        ),
        (
            {"exposed_ports": {"80": {}, "70000/tcp": {}}},
            "Invalid input for field 'exposed_ports': '70000/tcp' is not a 'port[/tcp|udp]'.",
        ),
        (
            {"hostname": "h" * 64},
            f"Invalid input for field 'hostname': '{'h' * 64}' is too long.",
        ),
    ],
)
def test_create_messages(fields: dict[str, Any], detail: str) -> None:
    assert _rejects(lambda: _create((1, 40), **fields)).detail == detail


def test_limits_come_from_configuration() -> None:
    limits = Limits(min_cpu=1.0, max_cpu=2.0, min_memory=64, max_memory=128, min_disk=5, max_disk=6)
    schema = create_body((1, 40), limits)
    validate(schema, {"image": "nginx", "cpu": "2", "memory": "64", "disk": 5})
    for bad in ({"cpu": 0.5}, {"memory": "129"}, {"disk": "4"}):
        with pytest.raises(SchemaValidationError):
            validate(schema, {"image": "nginx", **bad})


GATES: list[tuple[str, Any, V]] = [
    ("auto_remove", False, (1, 3)),
    ("runtime", "runc", (1, 5)),
    ("hostname", "h", (1, 9)),
    ("privileged", False, (1, 21)),
    ("exposed_ports", {}, (1, 24)),
    ("mounts", [{"size": 1, "destination": "/d"}], (1, 11)),
    ("healthcheck", {"cmd": "true"}, (1, 22)),
    ("registry", "myreg", (1, 31)),
]


@pytest.mark.parametrize(("key", "value", "first"), GATES)
def test_version_gate_fires_below(key: str, value: Any, first: V) -> None:
    below = (first[0], first[1] - 1)
    _create(below, **{key: value})  # the schema itself lets the key through
    with pytest.raises(InvalidParamInVersion) as info:
        version_gates(below, {"image": "nginx", key: value})
    assert key in info.value.detail
    assert f"{first[0]}.{first[1]}" in info.value.detail
    assert info.value.fields == {"field": key}
    assert info.value.status == 400
    assert info.value.code == "invalid-param-in-version"


@pytest.mark.parametrize(("key", "value", "first"), GATES)
def test_version_gate_passes_from_first_version(key: str, value: Any, first: V) -> None:
    version_gates(first, {key: value})
    version_gates((1, 40), {key: value})


@pytest.mark.parametrize("key", [key for key, _, _ in GATES])
def test_version_gates_ignore_null(key: str) -> None:
    version_gates((1, 1), {key: None})
    version_gates((1, 1), {})


@pytest.mark.parametrize(("key", "empty"), [("mounts", []), ("healthcheck", {}), ("registry", "")])
def test_version_gates_ignore_empty_values_of_lenient_fields(key: str, empty: Any) -> None:
    version_gates((1, 1), {key: empty})


@pytest.mark.parametrize(
    ("key", "empty"),
    [("exposed_ports", {}), ("auto_remove", False), ("privileged", "False"), ("runtime", "")],
)
def test_version_gates_fire_on_empty_values_of_strict_fields(key: str, empty: Any) -> None:
    with pytest.raises(InvalidParamInVersion):
        version_gates((1, 2), {key: empty})


def test_version_gates_report_the_first_in_processing_order() -> None:
    with pytest.raises(InvalidParamInVersion) as info:
        version_gates((1, 1), {"registry": "r1", "auto_remove": True, "hostname": "h"})
    assert info.value.fields == {"field": "auto_remove"}


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("", []),
        ("ls", ["ls"]),
        ("ls -l /", ["ls", "-l", "/"]),
        ('"sh" "-c" "echo hi"', ["sh", "-c", "echo hi"]),
        ("echo 'a b' c", ["echo", "a b", "c"]),
        ("  spaced   out ", ["spaced", "out"]),
        ('say "it\'s"', ["say", "it's"]),
    ],
)
def test_command_from_string(text: str, argv: list[str]) -> None:
    assert command_from_string(text) == argv


@pytest.mark.parametrize("text", ['"unterminated', "'open", "trailing \\"])
def test_command_from_string_rejects_bad_quoting(text: str) -> None:
    with pytest.raises(SchemaValidationError) as info:
        command_from_string(text)
    assert info.value.fields == {"field": "command"}
    assert "command" in info.value.detail


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ({}, True),
        ({"run": "true"}, True),
        ({"run": "1"}, True),
        ({"run": "False"}, True),
        ({"run": "maybe"}, False),
        ({"run": ["true", "true"]}, False),
        ({"start": "1"}, False),
    ],
)
def test_run_query(query: dict[str, Any], ok: bool) -> None:
    if ok:
        validate(containers.run_query(), query, where="query")
    else:
        _rejects(lambda: validate(containers.run_query(), query, where="query"))


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"cpu": 1}, True),
        ({"memory": "4"}, True),
        ({"name": "new-name"}, True),
        ({"name": None}, True),
        ({"auto_heal": "true"}, True),
        ({"cpu": "0.5", "memory": 8192}, True),
        ({}, False),
        ({"cpu": 16.1}, False),
        ({"memory": "2"}, False),
        ({"name": "x"}, False),
        ({"auto_heal": "yes"}, False),
        ({"image": "nginx"}, False),
        ({"disk": 10}, False),
    ],
)
def test_update_body(body: dict[str, Any], ok: bool) -> None:
    schema = containers.update_body(LIMITS)
    if ok:
        validate(schema, body)
    else:
        _rejects(lambda: validate(schema, body))


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ({"force": "False", "stop": "False", "all_projects": "False"}, True),
        ({"force": "True", "stop": "True", "all_projects": "True"}, True),
        ({"force": "1", "stop": "on", "all_projects": "NO"}, True),
        ({}, True),
        ({"force": "t"}, False),
        ({"stop": "y"}, False),
        ({"all_projects": "2"}, False),
        ({"purge": "true"}, False),
    ],
)
def test_delete_query(query: dict[str, Any], ok: bool) -> None:
    if ok:
        validate(containers.delete_query(), query, where="query")
    else:
        _rejects(lambda: validate(containers.delete_query(), query, where="query"))


def test_list_keys() -> None:
    assert {
        "limit",
        "marker",
        "sort_key",
        "sort_dir",
        "all_projects",
        "name",
        "image",
        "project_id",
        "user_id",
        "memory",
        "host",
        "task_state",
        "status",
        "auto_remove",
        "expand",
        "resource_url",
    } == LIST_KEYS


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"limit": "1"},
        {"limit": "1000000"},
        {"sort_dir": "asc"},
        {"sort_dir": "desc"},
        {"all_projects": "1"},
        {"all_projects": "True"},
        {"all_projects": ""},
        {"status": "Running", "memory": "512", "expand": "x", "resource_url": "/v1/containers"},
        {key: "x" for key in LIST_KEYS - {"limit", "sort_dir", "all_projects"}},
    ],
)
def test_list_query_accepts(params: dict[str, str]) -> None:
    check_list_query(params)
    validate(containers.list_query(), params, where="query")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"foo": "1"}, "foo"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": " 5"}, "limit"),
        ({"sort_dir": "ASC"}, "sort_dir"),
        ({"sort_dir": "up"}, "sort_dir"),
        ({"all_projects": "maybe"}, "all_projects"),
    ],
)
def test_list_query_rejects(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_list_query(params)
    assert type(info.value) is InvalidInput
    assert info.value.fields == {"field": field}


def test_list_query_unknown_parameters_message() -> None:
    with pytest.raises(InvalidInput) as info:
        check_list_query({"zeta": "1", "alpha": "2", "limit": "5"})
    assert info.value.detail == "Unknown parameters: alpha, zeta."


def test_list_query_schema_rejects_repeated_keys() -> None:
    _rejects(lambda: validate(containers.list_query(), {"name": ["a", "b"]}, where="query"))


# ---- action endpoints -------------------------------------------------------------

KILL_OK = [
    "9",
    "SIGKILL",
    "KILL",
    "sigkill",
    "kill",
    "SIGTERM",
    "15",
    "term",
    "SIGHUP",
    "1",
    "STKFLT",
    "16",
    "SIGRTMIN",
    "34",
    "rtmax",
    "64",
    "sigwinch",
    "None",
    None,
]
KILL_BAD: list[Any] = [
    9,
    15,
    "SIGFOO",
    "foo",
    "0",
    "32",
    "33",
    "65",
    "Kill",
    "SigKill",
    "SIG9",
    "none",
    "",
    -1,
    True,
]


@pytest.mark.parametrize("signal", KILL_OK)
def test_kill_accepts(signal: Any) -> None:
    validate(actions.kill_body(), {"signal": signal})
    validate(actions.kill_body(), {})


@pytest.mark.parametrize("signal", KILL_BAD)
def test_kill_rejects(signal: Any) -> None:
    _rejects(lambda: validate(actions.kill_body(), {"signal": signal}), "signal")


def test_kill_spellings_table() -> None:
    spellings = actions.signal_spellings()
    assert len(spellings) == 5 * 33 == len(set(spellings))
    assert spellings[:5] == ["SIGHUP", "HUP", "sighup", "hup", "1"]
    _rejects(lambda: validate(actions.kill_body(), {"signal": "9", "force": True}), "force")


Case = tuple[Callable[[], dict[str, Any]], dict[str, Any], bool]

ACTION_CASES: list[Case] = [
    (actions.stop_query, {}, True),
    (actions.stop_query, {"timeout": "10"}, True),
    (actions.stop_query, {"timeout": 0}, True),
    (actions.stop_query, {"timeout": ""}, True),
    (actions.stop_query, {"timeout": "-1"}, False),
    (actions.stop_query, {"timeout": -1}, False),
    (actions.stop_query, {"timeout": "1.5"}, False),
    (actions.stop_query, {"timeout": 1.5}, False),
    (actions.stop_query, {"timeout": "ten"}, False),
    (actions.stop_query, {"t": "1"}, False),
    (actions.reboot_query, {"timeout": "10"}, True),
    (actions.reboot_query, {"x": 1}, False),
    (actions.logs_query, {}, True),
    (actions.logs_query, {"stdout": "True", "stderr": "False", "timestamps": "0"}, True),
    (actions.logs_query, {"tail": "all"}, True),
    (actions.logs_query, {"tail": 10}, True),
    (actions.logs_query, {"since": "1700000000"}, True),
    (actions.logs_query, {"since": 1700000000}, True),
    (actions.logs_query, {"since": "None"}, True),
    (actions.logs_query, {"since": "2024-01-02 03:04:05,678"}, True),
    (actions.logs_query, {"since": "at 2024-01-02 03:04:05,678Z"}, True),
    (actions.logs_query, {"since": "yesterday"}, False),
    (actions.logs_query, {"since": -5}, False),
    # Regression: past int64 the engine answered 500 (the fuzzer's find).
    (actions.logs_query, {"since": "79147117833746575810680061952"}, False),
    (actions.logs_query, {"since": 79147117833746575810680061952}, False),
    (actions.logs_query, {"since": str(actions.MAX_SINCE)}, True),
    (actions.logs_query, {"since": "2024-01-02"}, False),
    (actions.logs_query, {"stdout": "t"}, False),
    (actions.logs_query, {"follow": "1"}, False),
    (actions.logs_query, {"tail": None}, False),
    (actions.execute_query, {"command": "ls"}, True),
    (
        actions.execute_query,
        {"command": '"sh" "-c" "ls"', "run": "false", "interactive": True},
        True,
    ),
    (actions.execute_query, {}, False),
    (actions.execute_query, {"command": ""}, False),
    (actions.execute_query, {"command": ["ls"]}, False),
    (actions.execute_query, {"command": "ls", "run": "1"}, False),
    (actions.execute_query, {"command": "ls", "interactive": "yes"}, False),
    (actions.execute_query, {"command": "ls", "tty": "true"}, False),
    (actions.execute_resize_query, {"exec_id": "a" * 64, "h": "24", "w": 80}, True),
    (actions.execute_resize_query, {"exec_id": "0123456789abcdef" * 4}, True),
    (actions.execute_resize_query, {"h": "24", "w": "80"}, False),
    (actions.execute_resize_query, {"exec_id": "A" * 64}, False),
    (actions.execute_resize_query, {"exec_id": "a" * 63}, False),
    (actions.execute_resize_query, {"exec_id": "a" * 65}, False),
    (actions.execute_resize_query, {"exec_id": "a" * 64 + "\n"}, False),
    (actions.execute_resize_query, {"exec_id": "a" * 64, "h": "0"}, False),
    (actions.execute_resize_query, {"exec_id": "a" * 64, "w": -1}, False),
    (actions.resize_query, {"h": "24", "w": "80"}, True),
    (actions.resize_query, {}, True),
    (actions.resize_query, {"h": 1, "w": 1}, True),
    (actions.resize_query, {"h": "0"}, False),
    (actions.resize_query, {"w": "x"}, False),
    (actions.resize_query, {"w": ""}, False),
    (actions.resize_query, {"d": "1"}, False),
    (actions.top_query, {}, True),
    (actions.top_query, {"ps_args": "aux"}, True),
    (actions.top_query, {"ps_args": "None"}, True),
    (actions.top_query, {"ps_args": 1}, False),
    (actions.top_query, {"pid": "1"}, False),
    (actions.commit_query, {"repository": "myimg"}, True),
    (actions.commit_query, {"repository": "myimg", "tag": "v1"}, True),
    (actions.commit_query, {"tag": "v1"}, False),
    (actions.commit_query, {"repository": "r", "message": "m"}, False),
    (actions.rename_query, {"name": "new-name"}, True),
    (actions.rename_query, {}, False),
    (actions.rename_query, {"name": "n"}, False),
    (actions.rename_query, {"name": None}, False),
    (actions.rename_query, {"name": "ok", "x": 1}, False),
]


@pytest.mark.parametrize(("builder", "params", "ok"), ACTION_CASES)
def test_action_schemas(
    builder: Callable[[], dict[str, Any]], params: dict[str, Any], ok: bool
) -> None:
    if ok:
        validate(builder(), params, where="query")
    else:
        _rejects(lambda: validate(builder(), params, where="query"))


def test_action_errors_name_the_query_parameter() -> None:
    error = _rejects(lambda: validate(actions.stop_query(), {"timeout": "x"}, where="query"))
    assert error.detail == (
        "Invalid input for query parameter 'timeout': 'x' does not match '^[0-9]*$'."
    )
    assert error.fields == {"field": "timeout"}
