"""Hosts, compute services and availability zones over HTTP, and host liveness."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from sqlalchemy import update

from dockyard.db.models import HostRow
from dockyard.domain.clock import Clock
from tests.conftest import Dockyard, start_dockyard, stop_dockyard

pytestmark = pytest.mark.docker

BINARY = "dockyard-compute"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
SLEEPER = ["sh", "-c", "sleep 300"]
OPENSTACK = Path(sys.executable).parent / "openstack"


@pytest.fixture(scope="module")
def dockyard(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    # No heartbeats but the one at start: the tests move last_seen themselves.
    service = start_dockyard(
        tmp_path_factory.mktemp("dockyard"),
        docker_client,
        extra_config=["[compute]", "heartbeat_interval = 3600"],
    )
    yield service
    stop_dockyard(service)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    [body] = response.json()["errors"]
    assert body["code"] == f"container.{code}"
    return str(body["detail"])


def switch(dockyard: Dockyard, action: str, **params: str) -> Any:
    return dockyard.request("PUT", f"/v1/services/{action}", params=params)


def services(dockyard: Dockyard) -> list[dict[str, Any]]:
    body = ok(dockyard.request("GET", "/v1/services"))
    assert set(body) == {"services"}
    return list(body["services"])


def set_last_seen(dockyard: Dockyard, when: dt.datetime) -> None:
    with dockyard.node.db.write() as conn:
        conn.execute(
            update(HostRow.__table__).where(HostRow.name == dockyard.host).values(last_seen=when)
        )


def running(dockyard: Dockyard) -> str:
    uuid = str(ok(dockyard.create({"command": SLEEPER}), 202)["uuid"])
    dockyard.wait_for(uuid, "Running")
    return uuid


def test_service_list_shape(dockyard: Dockyard) -> None:
    [service] = services(dockyard)
    assert service["host"] == dockyard.host
    assert service["binary"] == BINARY
    assert service["state"] == "up"
    assert (service["disabled"], service["disabled_reason"], service["forced_down"]) == (
        False,
        None,
        False,
    )
    assert service["availability_zone"] == "nova"
    assert service["report_count"] >= 1
    assert isinstance(service["id"], int)
    for key in ("last_seen_up", "created_at", "updated_at"):
        assert STAMP.match(service[key]), service[key]
    # Paging parameters are ignored.
    assert len(ok(dockyard.request("GET", "/v1/services?limit=0"))["services"]) == 1


def test_service_switch_errors(dockyard: Dockyard) -> None:
    host = dockyard.host
    error(switch(dockyard, "enable", host="nowhere", binary=BINARY), 404, "zun-service-not-found")
    error(switch(dockyard, "enable", host=host, binary="zun-api"), 404, "zun-service-not-found")
    error(switch(dockyard, "enable", host=host), 400, "schema-validation-error")
    error(
        switch(dockyard, "enable", host="bad host", binary=BINARY), 400, "schema-validation-error"
    )
    error(
        switch(dockyard, "enable", host=host, binary=BINARY, other="1"),
        400,
        "schema-validation-error",
    )
    error(switch(dockyard, "force_down", host=host, binary=BINARY), 400, "schema-validation-error")
    error(
        switch(dockyard, "force_down", host=host, binary=BINARY, forced_down="maybe"),
        400,
        "schema-validation-error",
    )
    error(
        switch(dockyard, "disable", host=host, binary=BINARY, disabled_reason=""),
        400,
        "schema-validation-error",
    )
    error(dockyard.request("DELETE", "/v1/services?host=x"), 400, "schema-validation-error")


def test_disabled_host_gets_no_containers_until_enabled(dockyard: Dockyard) -> None:
    host = dockyard.host
    body = ok(switch(dockyard, "disable", host=host, binary=BINARY, disabled_reason="maint"))
    assert body == {
        "service": {"host": host, "binary": BINARY, "disabled": True, "disabled_reason": "maint"}
    }
    [service] = services(dockyard)
    assert (service["disabled"], service["disabled_reason"], service["state"]) == (
        True,
        "maint",
        "up",
    )
    failed = ok(dockyard.create({}, run=False), 202)
    shown = dockyard.show(failed["uuid"])
    assert shown["status"] == "Error"
    assert host in shown["status_reason"] and f"{host}: disabled" in shown["status_reason"]
    assert dockyard.request("DELETE", f"/v1/containers/{failed['uuid']}").status_code == 204

    # A JSON body works as well as the query string.
    response = dockyard.request("PUT", "/v1/services/enable", json={"host": host, "binary": BINARY})
    assert ok(response) == {
        "service": {"host": host, "binary": BINARY, "disabled": False, "disabled_reason": None}
    }
    uuid = running(dockyard)
    assert dockyard.request("DELETE", f"/v1/containers/{uuid}?force=true").status_code == 204
    dockyard.wait_gone(uuid)


def test_forced_down_host_fails_actions_fast_and_keeps_records(dockyard: Dockyard) -> None:
    host = dockyard.host
    uuid = running(dockyard)
    doomed = running(dockyard)
    body = ok(switch(dockyard, "force_down", host=host, binary=BINARY, forced_down="True"))
    assert body == {"service": {"host": host, "binary": BINARY, "forced_down": True}}
    assert services(dockyard)[0]["state"] == "down"
    try:
        began = time.monotonic()
        detail = error(dockyard.request("POST", f"/v1/containers/{uuid}/stop"), 503, "service-busy")
        assert time.monotonic() - began < 5
        assert f"Host {host} is forced down since" in detail
        error(dockyard.request("DELETE", f"/v1/containers/{uuid}"), 409, "invalid-state-exception")
        error(dockyard.request("DELETE", f"/v1/containers/{uuid}?stop=true"), 503, "service-busy")
        # A forced delete forgets the record at once; the agent removes the engine
        # container, left without a record, once its host is up again.
        forced = dockyard.request("DELETE", f"/v1/containers/{doomed}?force=true")
        assert forced.status_code == 204, forced.text
        assert dockyard.request("GET", f"/v1/containers/{doomed}").status_code == 404
        error(dockyard.request("GET", f"/v1/containers/{uuid}/logs"), 503, "service-busy")
        # The record is still there, untouched, and listed.
        shown = dockyard.show(uuid)
        assert (shown["status"], shown["task_state"]) == ("Running", None)
        listed = ok(dockyard.request("GET", "/v1/containers"))["containers"]
        assert uuid in {c["uuid"] for c in listed}
        # No new containers either.
        failed = ok(dockyard.create({}, run=False), 202)
        assert dockyard.show(failed["uuid"])["status"] == "Error"
        assert dockyard.request("DELETE", f"/v1/containers/{failed['uuid']}").status_code == 204
    finally:
        body = ok(switch(dockyard, "force_down", host=host, binary=BINARY, forced_down="false"))
    assert body["service"]["forced_down"] is False
    assert services(dockyard)[0]["state"] == "up"
    assert dockyard.request("DELETE", f"/v1/containers/{uuid}?force=true").status_code == 204
    dockyard.wait_gone(uuid)
    deadline = time.monotonic() + 15  # the agent reconciles every 2 s
    while doomed in [c.labels.get("dockyard.container_id") for c in dockyard.engine_containers()]:
        assert time.monotonic() < deadline, "the engine container of the forced delete was kept"
        time.sleep(0.2)


def test_stale_heartbeat_means_down(dockyard: Dockyard) -> None:
    uuid = running(dockyard)
    stale = Clock().now() - dt.timedelta(hours=1)
    set_last_seen(dockyard, stale)
    try:
        [service] = services(dockyard)
        assert service["state"] == "down"
        assert service["forced_down"] is False
        detail = error(dockyard.request("POST", f"/v1/containers/{uuid}/stop"), 503, "service-busy")
        assert f"is down since {stale:%Y-%m-%d %H:%M:%S} UTC" in detail
        assert dockyard.show(uuid)["status"] == "Running"
    finally:
        dockyard.node.agent.report_host()
    assert services(dockyard)[0]["state"] == "up"
    assert dockyard.request("DELETE", f"/v1/containers/{uuid}?force=true").status_code == 204
    dockyard.wait_gone(uuid)


def test_hosts_list_and_show(dockyard: Dockyard) -> None:
    error(dockyard.request("GET", "/v1/hosts", version="container 1.3"), 406, "not-acceptable")
    error(dockyard.request("GET", "/v1/hosts/x", version="container 1.3"), 406, "not-acceptable")
    body = ok(dockyard.request("GET", "/v1/hosts"))
    assert body["next"] is None
    [host] = body["hosts"]
    assert host["hostname"] == dockyard.host
    assert host["cpus"] >= 1 and host["mem_total"] > 0 and host["disk_total"] > 0
    assert host["total_containers"] == 0
    assert isinstance(host["cpu_used"], float)
    assert "runc" in host["runtimes"]
    assert host["enable_cpu_pinning"] is True
    assert {"labels", "architecture", "os_type", "os", "kernel_version"} <= set(host)
    assert host["links"][0] == {
        "href": f"{dockyard.url}/v1/hosts/{host['uuid']}",
        "rel": "self",
    }
    assert host["links"][1]["href"] == f"{dockyard.url}/hosts/{host['uuid']}"
    assert ok(dockyard.request("GET", f"/v1/hosts/{host['uuid']}")) == host
    assert ok(dockyard.request("GET", f"/v1/hosts/{dockyard.host}"))["uuid"] == host["uuid"]
    error(dockyard.request("GET", "/v1/hosts/nowhere"), 404, "compute-node-not-found")


def test_hosts_paging(dockyard: Dockyard) -> None:
    body = ok(dockyard.request("GET", "/v1/hosts?limit=1&sort_key=mem_total&sort_dir=desc"))
    [host] = body["hosts"]
    assert body["next"] == (
        f"{dockyard.url}/v1/hosts?sort_key=mem_total&sort_dir=desc&limit=1&marker={host['uuid']}"
    )
    after = ok(dockyard.request("GET", body["next"].removeprefix(dockyard.url)))
    assert after == {"hosts": [], "next": None}
    error(dockyard.request("GET", "/v1/hosts?limit=0"), 400, "invalid-value")
    error(dockyard.request("GET", "/v1/hosts?limit=x"), 400, "invalid-value")
    error(dockyard.request("GET", "/v1/hosts?sort_dir=up"), 400, "invalid-value")
    error(dockyard.request("GET", "/v1/hosts?sort_key=nope"), 400, "invalid-parameter-value")
    marker = "0b7f3a52-4f4e-4d33-9a55-7c2f6d3a0c11"
    error(dockyard.request("GET", f"/v1/hosts?marker={marker}"), 404, "compute-node-not-found")


def test_availability_zones(dockyard: Dockyard) -> None:
    expected = {"availability_zones": [{"availability_zone": "nova"}], "next": None}
    assert ok(dockyard.request("GET", "/v1/availability_zones")) == expected
    assert ok(dockyard.request("GET", "/v1/availability_zones?marker=x&limit=5")) == expected
    error(dockyard.request("GET", "/v1/availability_zones?limit=-1"), 400, "invalid-value")


def osc(dockyard: Dockyard, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    command = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", dockyard.url + "/v1"]
    result = subprocess.run(
        command + list(args), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def test_openstack_client_commands(dockyard: Dockyard) -> None:
    host = dockyard.host
    [service] = json.loads(osc(dockyard, "appcontainer", "service", "list", "-f", "json"))
    assert (service["Host"], service["Binary"], service["State"]) == (host, BINARY, "up")
    disabled = json.loads(
        osc(
            dockyard,
            "appcontainer",
            "service",
            "disable",
            host,
            BINARY,
            "--reason",
            "r",
            "-f",
            "json",
        )
    )
    assert disabled == {"Host": host, "Binary": BINARY, "Disabled": True, "Disabled Reason": "r"}
    enabled = json.loads(
        osc(dockyard, "appcontainer", "service", "enable", host, BINARY, "-f", "json")
    )
    assert enabled["Disabled"] is False
    down = json.loads(
        osc(dockyard, "appcontainer", "service", "forcedown", host, BINARY, "--unset", "-f", "json")
    )
    assert down == {"Host": host, "Binary": BINARY, "Forced_down": False}
    [listed] = json.loads(osc(dockyard, "appcontainer", "host", "list", "-f", "json"))
    assert listed["hostname"] == host
    shown = json.loads(osc(dockyard, "appcontainer", "host", "show", listed["uuid"], "-f", "json"))
    assert shown["hostname"] == host and shown["uuid"] == listed["uuid"]
    zones = json.loads(osc(dockyard, "appcontainer", "availability", "zone", "list", "-f", "json"))
    assert zones == [{"availability_zone": "nova"}]


def test_delete_service_until_the_agent_reports_again(dockyard: Dockyard) -> None:
    error(
        dockyard.request("DELETE", f"/v1/services?host=nowhere&binary={BINARY}"),
        404,
        "zun-service-not-found",
    )
    response = dockyard.request("DELETE", f"/v1/services?host={dockyard.host}&binary={BINARY}")
    assert response.status_code == 200 and response.text == "null"
    assert services(dockyard) == []
    assert ok(dockyard.request("GET", "/v1/hosts"))["hosts"] == []
    dockyard.node.agent.report_host()
    [service] = services(dockyard)
    assert (service["state"], service["report_count"]) == ("up", 1)
