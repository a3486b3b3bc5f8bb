"""Schemathesis against the OpenStack subsets of a real all-in-one (auth_strategy = local,
[network] driver = local): ``/v2.0``, ``/volume/v3/{project_id}`` and ``/v3``.

Every operation the document gives these subsets gets valid and invalid parameters,
bodies and headers (positive and negative modes) with a valid token, and each example
is also sent in hostile variants: malformed and non-finite JSON, 100,000-deep
nesting, a body over the size limit, lone surrogates, a wrong media type, bad
block-storage microversions, a bad or missing token. Each answer must be below 500,
match the document (status, content type, body), and a refused request must leave
the network, volume and identity records, the engine's networks and volumes, and
the kernel's rule table of this installation as they were.

The one record a refusal is meant to change is a failed login's attempt (the
brute-force limiter counts it): ``login_attempts`` is left out of the comparison for
``POST /v3/auth/tokens`` only.
"""

from __future__ import annotations

import itertools
import json
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks
from sqlalchemy import select

from dockyard.api.app import served_routes
from dockyard.api.openapi.document import document
from dockyard.api.schemas.containers import Limits
from dockyard.cmd.configuration import load_config
from dockyard.cmd.identity import bootstrap_admin
from dockyard.db import models
from dockyard.domain.models import LABEL_HOST
from dockyard.drivers.network.local.nftables import TableNames
from tests.conftest import Dockyard, start_dockyard, stop_dockyard
from tests.support.fuzz_tally import Tally
from tests.support.quiet import quiet_agent

pytestmark = pytest.mark.docker

SPEC = document(served_routes(), Limits())
PREFIXES = ("/v2.0", "/volume", "/v3")
SCHEMA = schemathesis.openapi.from_dict(SPEC).include(
    path_regex="^(" + "|".join(p.replace(".", "\\.") for p in PREFIXES) + ")"
)
#: Examples per operation and mode: with the hostile variants, about 1,100 requests.
EXAMPLES = 8
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
LOCAL = [
    "[DEFAULT]",
    "auth_strategy = local",
    "[identity]",
    "password_hash_rounds = 4",
    # The fuzzer fails logins by the hundred; the limiter is tested elsewhere.
    "max_failures_per_user = 100000",
    "max_failures_per_address = 100000",
]
#: Rows a refused request must leave alone.
ROWS = (
    models.NetworkRow,
    models.SubnetRow,
    models.PortRow,
    models.PortAddressRow,
    models.SecurityGroupRow,
    models.SecurityGroupRuleRow,
    models.PortSecurityGroupRow,
    models.VolumeRow,
    models.VolumeAttachmentRow,
    models.QuotaUsageRow,
    models.ProjectRow,
    models.UserRow,
    models.RoleAssignmentRow,
    models.RevokedTokenRow,
    models.LoginAttemptRow,
)


TALLY = Tally()
STARTED = time.monotonic()
_ROTATION = itertools.count()


@dataclass
class Cloud:
    service: Dockyard
    token: str
    project_id: str
    #: A live object of each kind, by the path segment that lists it.
    live: dict[str, str]
    table: str


def _admin_token(service: Dockyard, conf_file: Path) -> tuple[str, str]:
    created = bootstrap_admin(load_config([f"--config-file={conf_file}"]), service.node.db)
    assert created is not None
    env = dict(line.removeprefix("export ").split("=", 1) for line in created[1].splitlines())
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": shlex.split(env["OS_PASSWORD"])[0],
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    response = service.session.post(service.url + "/v3/auth/tokens", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"], response.json()["token"]["project"]["id"]


def _made(service: Dockyard, token: str, path: str, body: dict[str, Any]) -> str:
    response = service.session.post(
        service.url + path, json=body, headers={"X-Auth-Token": token}, timeout=30
    )
    assert response.status_code in (201, 202), response.text
    [value] = response.json().values()
    return str(value["id"])


def _listed_id(service: Dockyard, token: str, path: str, key: str) -> str:
    response = service.session.get(service.url + path, headers={"X-Auth-Token": token}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()[key][0]["id"])


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Cloud]:
    tmp = tmp_path_factory.mktemp("fuzz-openstack")
    service = start_dockyard(tmp, docker_client, extra_config=LOCAL)
    try:
        token, project_id = _admin_token(service, tmp / "dockyard.conf")
        net = _made(service, token, "/v2.0/networks", {"network": {"name": "fuzz-net"}})
        subnet = {"network_id": net, "cidr": "192.168.77.0/24", "name": "fuzz-subnet"}
        group = _made(service, token, "/v2.0/security-groups", {"security_group": {"name": "g"}})
        rule = {"security_group_id": group, "direction": "ingress", "protocol": "tcp",
                "port_range_min": 80, "port_range_max": 80}  # fmt: skip
        volumes = f"/volume/v3/{project_id}/volumes"
        live = {
            "networks": net,
            "subnets": _made(service, token, "/v2.0/subnets", {"subnet": subnet}),
            "ports": _made(service, token, "/v2.0/ports", {"port": {"network_id": net}}),
            "security-groups": group,
            "security-group-rules": _made(
                service, token, "/v2.0/security-group-rules", {"security_group_rule": rule}
            ),
            "volumes": _made(service, token, volumes, {"volume": {"size": 1, "name": "v"}}),
            "services": _listed_id(service, token, "/v3/services", "services"),
            "endpoints": _listed_id(service, token, "/v3/endpoints", "endpoints"),
        }
        with service.node.db.engine.connect() as conn:
            installation = conn.execute(select(models.InstallationRow.id)).scalar_one()
        table = TableNames(installation, service.host).table
        yield Cloud(service, token, project_id, live, table)
    finally:
        stop_dockyard(service)


@pytest.fixture(scope="module")
def quiet(cloud: Cloud) -> Iterator[threading.Lock]:
    with quiet_agent(cloud.service) as lock:
        yield lock


def _rows(cloud: Cloud, logins: bool) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    with cloud.service.node.db.engine.connect() as conn:
        for row in ROWS:
            if row is models.LoginAttemptRow and not logins:
                continue
            rows[row.__tablename__] = sorted(map(repr, map(tuple, conn.execute(select(row)))))
    return rows


def _engine(cloud: Cloud) -> tuple[list[str], list[str]]:
    label = {"label": f"{LABEL_HOST}={cloud.service.host}"}
    engine = cloud.service.docker
    networks = sorted(n.id for n in engine.networks.list(filters=label))
    volumes = sorted(v.name for v in engine.volumes.list(filters=label))
    return networks, volumes


def _kernel(cloud: Cloud) -> str:
    listed = subprocess.run(
        ["nft", "list", "table", "inet", cloud.table], capture_output=True, text=True, check=False
    )
    return listed.stdout


#: The three looks of a snapshot run at once (each mostly waits on another process).
_LOOKS = ThreadPoolExecutor(max_workers=3, thread_name_prefix="fuzz-snapshot")


def snapshot(cloud: Cloud, logins: bool = True) -> dict[str, Any]:
    """What a refused request must leave alone: the records (as column values), the
    engine's networks and volumes and the kernel's rule table of this installation."""
    rows = _LOOKS.submit(_rows, cloud, logins)
    engine = _LOOKS.submit(_engine, cloud)
    kernel = _LOOKS.submit(_kernel, cloud)
    return {"rows": rows.result(), "engine": engine.result(), "kernel": kernel.result()}


def _prepare(case: Any, cloud: Cloud) -> None:
    """A valid token (most of the time), and a live object or project in the path
    often enough that the operations get past "not found"."""
    headers = case.headers if case.headers is not None else {}
    case.headers = headers
    turn = next(_ROTATION)
    if turn % 9 == 8:
        headers.pop("X-Auth-Token", None)
    else:
        headers["X-Auth-Token"] = cloud.token
    params = case.path_parameters if case.path_parameters is not None else {}
    if "project_id" in params and turn % 4:
        params["project_id"] = cloud.project_id
    if "ident" in params and case.method in ("GET", "PUT") and turn % 2:
        collection = case.path.split("/")[-2]
        params["ident"] = cloud.live[collection]
    _aim_body(case, cloud, turn)
    if case.path == "/v3/auth/tokens":
        if case.method == "GET" and turn % 2:
            headers["X-Subject-Token"] = cloud.token
        elif headers.get("X-Subject-Token") == cloud.token:
            headers["X-Subject-Token"] = "not-this-one"


#: The attribute of a create that names a live object: (collection, key, attribute, live).
_REFERENCES = (
    ("/v2.0/subnets", "subnet", "network_id", "networks"),
    ("/v2.0/ports", "port", "network_id", "networks"),
    ("/v2.0/security-group-rules", "security_group_rule", "security_group_id", "security-groups"),
)


def _aim_body(case: Any, cloud: Cloud, turn: int) -> None:
    """Half the creates name the live network or group, so they reach the service
    instead of stopping at "not found"."""
    if case.method != "POST" or not isinstance(case.body, dict) or turn % 2:
        return
    for path, key, attribute, live in _REFERENCES:
        fields = case.body.get(key)
        if case.path == path and isinstance(fields, dict):
            fields[attribute] = cloud.live[live]


def _error_schema(path: str) -> dict[str, Any]:
    name = "NeutronError" if path.startswith("/v2.0") else "CinderError"
    if path.startswith("/v3"):
        name = "KeystoneError"
    return dict(SPEC["components"]["schemas"][name])


def _headers(content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type}


def _body(data: bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"data": data, "headers": _headers(content_type)}


def _version(header: str) -> dict[str, Any]:
    return {"headers": {"OpenStack-API-Version": header}}


HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("malformed JSON", _body(b'{"network": {"name": "x",')),
    ("NaN", _body(b'{"volume": {"size": NaN}, "network": {"mtu": Infinity}}')),
    ("deep nesting", _body(b"[" * 100_000 + b"]" * 100_000)),
    ("deep objects", _body(b'{"a":' * 50_000 + b"1" + b"}" * 50_000)),
    ("over the size limit", _body(b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}')),
    ("lone surrogates", _body(b'{"network": {"name": "\\ud800"}, "volume": {"name": "\\udfff"}}')),
    ("unicode", _body(json.dumps({"port": {"name": "\u00e9\u4e2d\U0001f4a5\u202e"}}).encode())),
    ("wrong types", _body(b'{"subnet": [], "volume": 7, "auth": "x"}')),
    ("wrong media type", _body(b"<xml/>", "application/xml")),
    ("unknown volume microversion", _version("volume 3.999")),
    ("malformed volume microversion", _version("volume three")),
    ("another service's microversion", _version("compute 2.1")),
    ("bad token", {"headers": {"X-Auth-Token": "dy1.not-a-token"}}),
]


def _hostile() -> list[tuple[str, dict[str, Any]]]:
    """Two of :data:`HOSTILE`, a different pair each time."""
    turn = next(_ROTATION)
    return [HOSTILE[turn % len(HOSTILE)], HOSTILE[(turn * 5 + 3) % len(HOSTILE)]]


def _check_refusal(response: requests.Response, path: str, described: str) -> None:
    assert response.status_code < 500, described
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert response.headers.get("Content-Type", "").startswith("application/json"), described
        schema = _error_schema(path)
        if response.status_code == 401 and not path.startswith("/v3"):
            schema = SPEC["components"]["schemas"]["KeystoneError"]
        jsonschema.validate(response.json(), schema)


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
def test_every_subset_operation_survives_fuzzing(
    case: Any, cloud: Cloud, quiet: threading.Lock
) -> None:
    _prepare(case, cloud)
    operation = f"{case.method} {case.path}"
    logins = operation != "POST /v3/auth/tokens"
    service = cloud.service
    with quiet:
        before = snapshot(cloud, logins)
        response = case.call(base_url=service.url, session=service.session, timeout=60)
        refused = response.status_code >= 400
        after = snapshot(cloud, logins) if refused else None
        TALLY.count(operation, response.status_code)
        case.validate_response(response, checks=CHECKS)
        described = f"{operation} -> {response.status_code} {response.text[:300]}"
        assert not refused or after == before, f"{described}: records or the engine changed"

        url = service.url + case.formatted_path
        for name, kw in _hostile():
            headers = {"X-Auth-Token": cloud.token, **kw.get("headers", {})}
            if case.path == "/v3/auth/tokens" and case.method != "POST":
                headers["X-Subject-Token"] = "not-this-one"
            before = after or snapshot(cloud, logins)
            hostile = service.session.request(
                case.method, url, timeout=60, data=kw.get("data"), headers=headers
            )
            refused = hostile.status_code >= 400
            after = snapshot(cloud, logins) if refused else None
            TALLY.count(operation, hostile.status_code)
            described = f"{operation} ({name}) -> {hostile.status_code} {hostile.text[:300]}"
            _check_refusal(hostile, case.path, described)
            assert not refused or after == before, f"{described}: records or the engine changed"


def test_the_run_reached_every_subset_operation() -> None:
    """Runs after the fuzzing above (pytest keeps file order)."""
    operations = {
        f"{m.upper()} {p}"
        for p, item in SPEC["paths"].items()
        for m in item
        if p.startswith(PREFIXES)
    }
    took = time.monotonic() - STARTED
    print(
        f"fuzzing the subsets: {TALLY.requests} requests in {took:.0f} s, "
        f"statuses {sorted(TALLY.by_status.items())}"
    )
    assert TALLY.operations == operations
    assert TALLY.requests >= 1000
    assert not [status for status in TALLY.by_status if status >= 500]
