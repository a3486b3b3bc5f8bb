"""Metrics, request-scoped JSON log lines and the audit trail of a running all-in-one.

The service runs in this process (as `dockyard up` does, one registry for the API and
its agent), driven over HTTP against the real Docker Engine; /metrics is scraped over
HTTP and read with the Prometheus client's own parser.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from dockyard.observability.logs import JsonFormatter, RequestFilter
from tests.conftest import Dockyard

pytestmark = pytest.mark.docker

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(dockyard: Dockyard) -> Samples:
    response = requests.get(dockyard.url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Dockyard's log lines as `[DEFAULT] log_json = true` writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("dockyard")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def lines_of(stream: io.StringIO, request_id: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in parsed if line["request_id"] == request_id]


def test_a_create_moves_the_metrics_and_every_line_names_its_request(
    dockyard: Dockyard, json_log: io.StringIO
) -> None:
    before = scrape(dockyard)
    created = dockyard.create({"command": SLEEPER})
    assert created.status_code == 202, created.text
    ident, request_id = created.json()["uuid"], created.headers["X-OpenStack-Request-Id"]
    dockyard.wait_for(ident, "Running")
    dockyard.show(ident)
    after = scrape(dockyard)

    request = {"method": "POST", "route": "/v1/containers", "status": "202"}
    name = "dockyard_api_request_duration_seconds_count"
    assert value(after, name, **request) == value(before, name, **request) + 1
    shown = {"method": "GET", "route": "/v1/containers/<ident>", "status": "200"}
    assert value(after, name, **shown) > value(before, name, **shown)
    assert not any(ident in str(labels) for _, labels in after)  # templates, not paths
    running = {"host": dockyard.host, "status": "Running"}
    assert value(after, "dockyard_containers", **running) == (
        value(before, "dockyard_containers", **running) + 1
    )
    # The agent's metrics, from the same registry.
    for family, labels in [
        ("dockyard_container_create_to_running_seconds_count", {"host": dockyard.host}),
        ("dockyard_engine_call_duration_seconds_count", {"method": "create", "outcome": "ok"}),
        ("dockyard_engine_call_duration_seconds_count", {"method": "start", "outcome": "ok"}),
        ("dockyard_container_state_changes_total", {"status": "Running"}),
    ]:
        assert total(after, family, **labels) == total(before, family, **labels) + 1, family
    assert value(after, "dockyard_agent_operations", host=dockyard.host) == 0
    lag = value(after, "dockyard_reconcile_lag_seconds", host=dockyard.host)
    assert 0 < lag < 30  # sync_interval is 2 s
    assert total(after, "dockyard_reconcile_duration_seconds_count", host=dockyard.host) > 0

    lines = lines_of(json_log, request_id)
    api_side = [line for line in lines if line["thread"] != "" and "agent" not in line["thread"]]
    agent_side = [line for line in lines if line["thread"].startswith("agent-")]
    assert api_side and agent_side, lines
    assert any(line["logger"].startswith("dockyard.compute") for line in agent_side)
    audits = [line["audit"] for line in lines if line["logger"] == "dockyard.audit"]
    assert [(a["change"], a["status"]) for a in audits][:1] == [("create", "Creating")]
    assert ("report", "Running") in [(a["change"], a["status"]) for a in audits]
    assert {a["user_id"] for a in audits} == {"admin"}  # the noauth user
    assert {a["container"] for a in audits} == {ident}

    deleted = dockyard.request("DELETE", f"/v1/containers/{ident}?force=true")
    assert deleted.status_code == 204, deleted.text
    dockyard.wait_gone(ident)
    removal = lines_of(json_log, deleted.headers["X-OpenStack-Request-Id"])
    assert ("delete", "Deleted") in [
        (line["audit"]["change"], line["audit"]["status"]) for line in removal if "audit" in line
    ]
