"""Schemathesis against a real all-in-one service (SQLite, Docker Engine, in-process agent).

Every operation of the generated OpenAPI document gets valid and invalid
parameters, bodies and headers (schemathesis's positive and negative modes); every
example is also sent in hostile variants the generator does not make: malformed
and non-finite JSON, 100,000-deep nesting, a body over the size limit, lone
surrogates, a wrong media type, bad microversions. Each answer must be below 500
(501 only where the document says not implemented), match the document, and a
refused request must leave the database and the engine as they were.

Containers are named in paths only by the read-only operations (GET): a stop or
delete accepted against a live container would change the state that the next
refusal is compared against. Creates use an image no registry has, so the
fuzzer's creates are refused by the host after validation instead of pulling
from the internet.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks
from sqlalchemy import func, select

from dockyard.api.app import served_routes
from dockyard.api.openapi.document import document
from dockyard.api.openapi.responses import ERRORS
from dockyard.api.schemas.containers import Limits
from dockyard.db.models import (
    ActionEventRow,
    ActionRow,
    ContainerRow,
    HostRow,
    IdempotencyKeyRow,
    RegistryRow,
)
from dockyard.domain.models import LABEL_HOST
from tests.conftest import Dockyard
from tests.support.fuzz_tally import Tally
from tests.support.quiet import quiet_agent

pytestmark = pytest.mark.docker

SPEC = document(served_routes(), Limits())
#: The Zun API's paths; the OpenStack subsets are fuzzed under auth_strategy = local by
#: test_openapi_fuzz_openstack.py (``/v3`` is not served under noauth).
ZUN_PATHS = "^/($|v1)"
SCHEMA = schemathesis.openapi.from_dict(SPEC).include(path_regex=ZUN_PATHS)
#: Examples per operation: with the hostile variants, well over 2,000 requests.
EXAMPLES = 14
ABSENT_IMAGE = "127.0.0.1:5001/dockyard-fuzz/absent:latest"
NOT_IMPLEMENTED = {
    (path, method.upper())
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if "501" in op["responses"]
}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


TALLY = Tally()
_ROTATION = itertools.count()


@pytest.fixture(scope="module")
def live(dockyard: Dockyard) -> Iterator[str]:
    """A running container the read-only operations look at."""
    response = dockyard.create({"name": "fuzz-target", "command": ["sleep", "3600"]})
    assert response.status_code == 202, response.text
    ident = str(response.json()["uuid"])
    dockyard.wait_for(ident, "Running")
    deadline = time.monotonic() + 30
    while _unfinished(dockyard):
        assert time.monotonic() < deadline, "the target's actions stayed unfinished"
        time.sleep(0.05)
    yield ident


def _unfinished(dockyard: Dockyard) -> int:
    with dockyard.node.db.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(ActionRow).where(ActionRow.finish_time.is_(None))
            ).scalar_one()
        )


@pytest.fixture(scope="module")
def quiet(dockyard: Dockyard) -> Iterator[threading.Lock]:
    """The agent's periodic sync and host reports wait while one request is compared."""
    with quiet_agent(dockyard) as lock:
        yield lock


def snapshot(dockyard: Dockyard) -> dict[str, Any]:
    """What a refused request must leave alone."""
    with dockyard.node.db.engine.connect() as conn:

        def count(table: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        containers = [
            tuple(r) for r in conn.execute(select(ContainerRow).order_by(ContainerRow.id))
        ]
        hosts = [
            tuple(r)
            for r in conn.execute(
                select(
                    HostRow.name, HostRow.cpu_used_milli, HostRow.memory_used, HostRow.disk_used,
                    HostRow.enabled, HostRow.forced_down,
                ).order_by(HostRow.name)
            )
        ]  # fmt: skip
        counts = {
            table.__tablename__: count(table)
            for table in (ActionRow, ActionEventRow, IdempotencyKeyRow, RegistryRow)
        }
    listed = dockyard.docker.containers.list(
        all=True, sparse=True, filters={"label": f"{LABEL_HOST}={dockyard.host}"}
    )
    engine = sorted((c.id, c.attrs.get("State")) for c in listed)
    return {"containers": containers, "hosts": hosts, "counts": counts, "engine": engine}


_JSON = {"OpenStack-API-Version": "container latest", "Content-Type": "application/json"}


def _body(data: bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"data": data, "headers": {**_JSON, "Content-Type": content_type}}


def _version(header: str) -> dict[str, Any]:
    return {"headers": {"OpenStack-API-Version": header}}


#: Requests no schema-driven generator sends, each tried on every operation in turn.
HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("malformed JSON", _body(b'{"image": "busybox",')),
    ("NaN", _body(b'{"image": "busybox", "cpu": NaN, "memory": Infinity}')),
    ("deep nesting", _body(b"[" * 100_000 + b"]" * 100_000)),
    ("over the size limit", _body(b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}')),
    ("lone surrogates", _body(b'{"name": "\\ud800\\udfff\\ud800", "image": "\\u0000"}')),
    ("unicode", _body(json.dumps({"name": "\u00e9\u4e2d\U0001f4a5", "image": "\u202e"}).encode())),
    ("wrong media type", _body(b"<xml/>", "application/xml")),
    ("unknown microversion", _version("container 1.999")),
    ("malformed microversion", _version("container one.two")),
    ("other service", _version("compute 2.1")),
    ("major version 2", _version("container 2.0")),
]


def _hostile() -> list[tuple[str, dict[str, Any]]]:
    """Two of :data:`HOSTILE`, a different pair each time."""
    turn = next(_ROTATION)
    return [HOSTILE[turn % len(HOSTILE)], HOSTILE[(turn * 7 + 3) % len(HOSTILE)]]


def _refusal_is_an_errors_body(response: requests.Response, described: str) -> None:
    assert response.status_code < 500 or _allowed_5xx(described, response), described
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert response.headers.get("Content-Type", "").startswith("application/json"), described
        jsonschema.validate(response.json(), ERRORS)


def _allowed_5xx(described: str, response: requests.Response) -> bool:
    return response.status_code == 501 and described.startswith("501-allowed")


def _prepare(case: Any, live: str) -> None:
    if "ident" not in case.path_parameters:
        pass
    elif case.method == "GET" and next(_ROTATION) % 2:
        case.path_parameters["ident"] = live
    elif next(_ROTATION) % 2:
        case.path_parameters["ident"] = str(uuid.uuid4())
    if case.path == "/v1/containers" and case.method == "POST" and isinstance(case.body, dict):
        case.body["image"] = ABSENT_IMAGE


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
def test_every_operation_survives_fuzzing(
    case: Any, dockyard: Dockyard, live: str, quiet: threading.Lock
) -> None:
    _prepare(case, live)
    operation = f"{case.method} {case.path}"
    not_implemented = (case.path, case.method) in NOT_IMPLEMENTED
    # The agent's sync waits for the whole example: a refused request's "after" is
    # the next request's "before".
    with quiet:
        before = snapshot(dockyard)
        response = case.call(base_url=dockyard.url, session=dockyard.session, timeout=60)
        refused = response.status_code >= 400
        after = snapshot(dockyard) if refused else None
        TALLY.count(operation, response.status_code)
        if not (not_implemented and response.status_code == 501):
            case.validate_response(response, checks=CHECKS)
        described = f"{operation} -> {response.status_code} {response.text[:300]}"
        assert not refused or after == before, f"{described}: the database or the engine changed"

        # The variants name no live container, so none can reach the engine.
        if "ident" in case.path_parameters:
            case.path_parameters["ident"] = str(uuid.uuid4())
        url = dockyard.url + case.formatted_path
        for name, kw in _hostile():
            before = after or snapshot(dockyard)
            hostile = dockyard.session.request(case.method, url, timeout=60, **kw)
            refused = hostile.status_code >= 400
            after = snapshot(dockyard) if refused else None
            TALLY.count(operation, hostile.status_code)
            described = f"{operation} ({name}) -> {hostile.status_code} {hostile.text[:300]}"
            if not_implemented:
                described = "501-allowed " + described
            _refusal_is_an_errors_body(hostile, described)
            assert not refused or after == before, (
                f"{described}: the database or the engine changed"
            )


def test_the_run_reached_every_operation_with_2000_requests() -> None:
    """Runs after the fuzzing above (pytest keeps file order)."""
    operations = {
        f"{m.upper()} {p}"
        for p, item in SPEC["paths"].items()
        for m in item
        if re.match(ZUN_PATHS, p)
    }
    print(f"fuzzing: {TALLY.requests} requests, statuses {sorted(TALLY.by_status.items())}")
    assert TALLY.operations == operations
    assert TALLY.requests >= 2000
    assert not [status for status in TALLY.by_status if status >= 500 and status != 501]
