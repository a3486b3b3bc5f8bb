"""End to end: the `openstack` network, subnet, port, security group and catalog commands,
unchanged, against `dockyard up` with its own identity (configured only by admin-openrc).

The tests in this module share one service and run in file order.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.domain.labels import LABEL_HOST
from tests.conftest import TEST_IMAGE, private_network_pool
from tests.e2e.process import Instance, stop
from tests.e2e.test_local_identity_cli import parse_openrc

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

OPENSTACK = Path(sys.executable).parent / "openstack"


@dataclass
class Cloud:
    """The service, and the `openstack` CLI run as admin. Commands go to one CLI process
    in batches (its interactive mode reads them from stdin): each start costs seconds.
    That mode's exit code says nothing (always 1); a failing command writes to stderr."""

    instance: Instance
    process: subprocess.Popen[bytes]
    admin: dict[str, str]

    def run(
        self, *commands: list[str], version: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``version``: the container API microversion the CLI asks for (default: its own)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        if version is not None:
            env["OS_CONTAINER_API_VERSION"] = version
        return subprocess.run(
            [str(OPENSTACK)],
            input="".join(shlex.join(command) + "\n" for command in commands),
            env={**env, **self.admin},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def json(self, *commands: list[str]) -> list[Any]:
        """The JSON each command printed, in order; every command must succeed."""
        result = self.run(*[[*command, "-f", "json"] for command in commands])
        assert not result.stderr.strip(), result.stderr
        documents, decoder, text, at = [], json.JSONDecoder(), result.stdout, 0
        while text[at:].strip():
            at += len(text[at:]) - len(text[at:].lstrip())
            document, at = decoder.raw_decode(text, at)
            documents.append(document)
        assert len(documents) == len(commands), result.stdout
        return documents

    def quiet(self, *commands: list[str], version: str | None = None) -> None:
        """Commands that print nothing when they succeed (deletes)."""
        result = self.run(*commands, version=version)
        assert not (result.stdout + result.stderr).strip(), result.stdout + result.stderr

    def idle(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """The container once Running with no task in flight."""
        deadline = time.monotonic() + timeout
        while True:
            (shown,) = self.json(["appcontainer", "show", name])
            if shown["status"] == "Running" and shown["task_state"] is None:
                return dict(shown)
            assert time.monotonic() < deadline, f"{name}: {shown['status']}/{shown['task_state']}"
            time.sleep(0.5)

    def errors(self, *commands: list[str]) -> str:
        """Commands that must each fail; what they reported."""
        result = self.run(*commands)
        assert not result.stdout.strip(), result.stdout
        return result.stderr


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    instance = Instance.new(
        tmp_path_factory.mktemp("dockyard-network"),
        prefix="net",
        auth_strategy=None,
        extra_config=["[identity]", "password_hash_rounds = 4"],
        split_output=True,
    )
    process = instance.start()
    try:
        admin = parse_openrc((instance.root / "data" / "admin-openrc").read_text())
        cloud = Cloud(instance, process, admin)
        yield cloud
        assert stop(cloud.process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        # What the agent made and had no pass left to remove (this instance's host only).
        engine = docker.from_env()
        mine = {"label": f"{LABEL_HOST}={instance.host}"}
        for container in engine.containers.list(all=True, filters=mine):
            container.remove(force=True)
        for network in engine.networks.list(filters=mine):
            network.remove()
        for path in (instance.log, instance.output):
            if path.exists():
                sys.stderr.write(f"\n===== {path.name} =====\n{path.read_text()[-4000:]}")


def test_the_catalog_lists_the_network_service(cloud: Cloud) -> None:
    base = cloud.instance.url
    catalog, services, endpoints = cloud.json(
        ["catalog", "list"], ["service", "list"], ["endpoint", "list"]
    )
    assert {entry["Type"] for entry in catalog} == {
        "container", "identity", "network", "block-storage"
    }  # fmt: skip
    network = next(s for s in services if s["Type"] == "network")
    assert len(endpoints) == 12
    assert {(e["Interface"], e["URL"]) for e in endpoints if e["Service Type"] == "network"} == {
        (interface, f"{base}/") for interface in ("public", "internal", "admin")
    }
    assert network["Name"] == "neutron"


def test_network_subnet_port_and_security_group_commands(cloud: Cloud) -> None:
    net, subnet, port, group, rule = cloud.json(
        ["network", "create", "net-e2e"],
        ["subnet", "create", "--network", "net-e2e", "--subnet-range", "10.123.0.0/24",
         "sub-e2e"],
        ["port", "create", "--network", "net-e2e",
         "--fixed-ip", "subnet=sub-e2e,ip-address=10.123.0.50", "port-e2e"],
        ["security", "group", "create", "web-e2e"],
        ["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80",
         "--remote-ip", "0.0.0.0/0", "web-e2e"],
    )  # fmt: skip
    assert net["name"] == "net-e2e" and net["status"] == "ACTIVE"
    assert (subnet["cidr"], subnet["gateway_ip"]) == ("10.123.0.0/24", "10.123.0.1")
    assert subnet["network_id"] == net["id"]
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.123.0.50"}]
    assert (rule["direction"], rule["protocol"], rule["port_range_min"], rule["port_range_max"],
            rule["remote_ip_prefix"], rule["security_group_id"]) == (
        "ingress", "tcp", 80, 80, "0.0.0.0/0", group["id"])  # fmt: skip

    shown = cloud.json(
        ["network", "list"], ["network", "show", "net-e2e"],
        ["subnet", "list"], ["subnet", "show", "sub-e2e"],
        ["port", "list"], ["port", "show", "port-e2e"],
        ["security", "group", "list"], ["security", "group", "show", "web-e2e"],
        ["security", "group", "rule", "list", "web-e2e"],
        ["security", "group", "rule", "show", rule["id"]],
    )  # fmt: skip
    assert [n["Name"] for n in shown[0]] == ["net-e2e"]
    assert shown[1]["subnets"] == [subnet["id"]]
    assert [s["Subnet"] for s in shown[2]] == ["10.123.0.0/24"]
    assert shown[3]["id"] == subnet["id"]
    assert [p["Name"] for p in shown[4]] == ["port-e2e"]
    assert shown[5]["mac_address"] == port["mac_address"]
    assert {g["Name"] for g in shown[6]} == {"default", "web-e2e"}
    assert shown[7]["id"] == group["id"]
    assert rule["id"] in {r["ID"] for r in shown[8]} and len(shown[8]) == 3  # and two egress
    assert shown[9]["id"] == rule["id"]

    reported = cloud.errors(
        ["port", "create", "--network", "net-e2e",
         "--fixed-ip", "subnet=sub-e2e,ip-address=10.123.0.50", "again"],
        ["port", "create", "--network", "net-e2e", "--fixed-ip", "ip-address=10.124.0.5", "out"],
        ["network", "delete", "net-e2e"],
    )  # fmt: skip
    assert "409" in reported and "already allocated" in reported
    assert "400" in reported and "not a valid IP" in reported
    assert "ports still in use" in reported


def free_cidr() -> str:
    """A /24 that no engine network holds now."""
    return str(next(ipaddress.ip_network(private_network_pool()).subnets(4)))


def networks_of(shown: dict[str, Any]) -> set[str]:
    """The networks `appcontainer show` lists (comma-separated ids)."""
    return {n.strip() for n in str(shown["networks"]).split(",") if n.strip()}


def test_appcontainer_network_and_security_group_commands(cloud: Cloud) -> None:
    """run --net, network attach/detach, add security group (at 1.14, its last
    version): each answered at once and done by the agent, each in the action log."""
    # (`run` passes everything after the image to the container: -f json goes before it)
    ran = cloud.run(
        ["appcontainer", "run", "-f", "json", "--name", "net-cli", "--net", "network=net-e2e",
         TEST_IMAGE, "sleep", "3600"],
    )  # fmt: skip
    assert not ran.stderr.strip(), ran.stderr
    made = json.loads(ran.stdout)
    cloud.idle("net-cli")
    two, _ = cloud.json(
        ["network", "create", "net-two"],
        ["subnet", "create", "--network", "net-two", "--subnet-range", free_cidr(), "sub-two"],
    )  # fmt: skip
    # (python-zunclient 5.5's `appcontainer network list` fails under this osc-lib with
    # "Invalid formatter provided.", before any request: `show` lists the networks.)
    [net_e2e] = networks_of(cloud.idle("net-cli"))

    said = cloud.run(["appcontainer", "network", "attach", "--network", "net-two", "net-cli"])
    assert "has been accepted" in said.stdout, said.stdout + said.stderr
    assert networks_of(cloud.idle("net-cli")) == {net_e2e, two["id"]}

    said = cloud.run(["appcontainer", "network", "detach", "--network", "net-two", "net-cli"])
    assert "has been accepted" in said.stdout, said.stdout + said.stderr
    assert networks_of(cloud.idle("net-cli")) == {net_e2e}

    added = cloud.run(["appcontainer", "add", "security", "group", "net-cli", "web-e2e"],
                      version="1.14")  # fmt: skip
    assert "Request to add security group" in added.stdout, added.stdout + added.stderr
    shown = cloud.idle("net-cli")
    (group,) = cloud.json(["security", "group", "show", "web-e2e"])
    assert group["id"] in shown["security_groups"]

    (actions,) = cloud.json(["appcontainer", "action", "list", "net-cli"])
    done = {a["action"]: a for a in actions}
    for name in ("network_attach", "network_detach", "add_security_group"):
        assert done[name]["message"] is None, done  # (the CLI shows no finish time)

    said = cloud.run(["appcontainer", "delete", "--force", "net-cli"])
    assert "has been accepted" in said.stdout, said.stdout + said.stderr
    deadline = time.monotonic() + 60
    while made["uuid"] in {c["uuid"] for c in cloud.json(["appcontainer", "list"])[0]}:
        assert time.monotonic() < deadline, "net-cli was not deleted"
        time.sleep(0.5)
    cloud.quiet(["network", "delete", "net-two"])


def test_deleting_everything(cloud: Cloud) -> None:
    (rules,) = cloud.json(["security", "group", "rule", "list", "web-e2e"])
    tcp = next(r["ID"] for r in rules if r["IP Protocol"] == "tcp")
    cloud.quiet(
        ["security", "group", "rule", "delete", tcp],
        ["security", "group", "delete", "web-e2e"],
        ["port", "delete", "port-e2e"],
        ["subnet", "delete", "sub-e2e"],
        ["network", "delete", "net-e2e"],
    )
    networks, subnets, ports, groups = cloud.json(
        ["network", "list"], ["subnet", "list"], ["port", "list"], ["security", "group", "list"]
    )
    assert networks == subnets == ports == []
    assert [g["Name"] for g in groups] == ["default"]
