"""``exposed_ports`` with real packets: the container's own security group, and the host.

One all-in-one on the real engine and kernel. The host connects to the port the
engine published (on loopback, ``[docker] publish_address``): the engine's
``docker-proxy`` relays it from the bridge's gateway address, a path that never
crosses the ``forward`` hook, so it is the ``output`` chain that must hold it.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from dockyard.domain.labels import LABEL_CONTAINER_ID
from dockyard.domain.models import RequestContext
from dockyard.domain.security_groups import Direction
from dockyard.drivers.network.local.firewall import NftablesFirewall, kernel_tools_present
from tests.conftest import Dockyard, require, start_dockyard, stop_dockyard

PORT = 8080
#: Always listening on PORT (an ``nc -l`` loop has gaps between connections, which a
#: reachability check would take for a drop); it answers any GET with "HTTP/1.0 ...".
SERVER = ["httpd", "-f", "-p", str(PORT)]
GET = b"GET / HTTP/1.0\r\n\r\n"


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    require(kernel_tools_present(), "nft is not installed")
    service = start_dockyard(tmp_path_factory.mktemp("exposed"), docker_client)
    yield service
    stop_dockyard(service)
    NftablesFirewall(service.node.agent.installation, service.host).clear()


def run(service: Dockyard, name: str, **body: Any) -> dict[str, Any]:
    response = service.create({"name": name, "command": SERVER, **body})
    assert response.status_code == 202, response.text
    return service.wait_for(response.json()["uuid"], "Running")


def published(service: Dockyard, uuid: str) -> tuple[str, int]:
    [found] = service.docker.containers.list(filters={"label": f"{LABEL_CONTAINER_ID}={uuid}"})
    [binding] = found.attrs["NetworkSettings"]["Ports"][f"{PORT}/tcp"]
    return binding["HostIp"], int(binding["HostPort"])


def host_reaches(address: tuple[str, int], timeout: float = 1) -> bool:
    """Whether the host itself gets an HTTP answer from ``address`` within ``timeout``."""
    try:
        with socket.create_connection(address, timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(GET)
            return conn.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def host_blocked(address: tuple[str, int]) -> bool:
    """Whether two tries in a row get no answer (a drop: the proxy's SYN goes unanswered)."""
    return not host_reaches(address, 0.5) and not host_reaches(address, 0.5)


def within(seconds: float, check: Any, *args: Any) -> float:
    """Seconds until ``check`` first held (when the check that saw it began)."""
    began = time.monotonic()
    while True:
        tried = time.monotonic() - began
        if check(*args):
            return tried
        assert tried < seconds, f"{check.__name__}{args} not within {seconds} s"
        time.sleep(0.05)


def groups_listed(service: Dockyard) -> dict[str, dict[str, Any]]:
    listed = service.request("GET", "/v2.0/security-groups")
    assert listed.status_code == 200, listed.text
    return {group["id"]: group for group in listed.json()["security_groups"]}


def nft_table(service: Dockyard) -> str:
    table = NftablesFirewall(service.node.agent.installation, service.host).names.table
    return subprocess.run(
        ["nft", "list", "table", "inet", table], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def web(service: Dockyard) -> dict[str, Any]:
    return run(service, "pub", exposed_ports={f"{PORT}/tcp": {}})


def test_exposed_ports_get_a_group_of_the_container_that_opens_exactly_them(
    service: Dockyard, web: dict[str, Any]
) -> None:
    [group_id] = web["security_groups"]
    group = groups_listed(service)[group_id]
    assert (group["name"], group["project_id"]) == ("pub-exposed-ports", web["project_id"])
    ingress = {
        (r["protocol"], r["port_range_min"], r["port_range_max"], r["remote_ip_prefix"])
        for r in group["security_group_rules"]
        if r["direction"] == "ingress"
    }
    assert ingress == {("tcp", PORT, PORT, "0.0.0.0/0"), ("tcp", PORT, PORT, "::/0")}
    assert {
        r["ethertype"] for r in group["security_group_rules"] if r["direction"] == "egress"
    } == {
        "IPv4",
        "IPv6",
    }
    assert f"tcp dport {PORT} return" in nft_table(service)

    # Only that port: another container of the project reaches 8080, not 8081.
    shell = run(service, "peer")
    [entries] = web["addresses"].values()
    target = entries[0]["addr"]
    peer = service.docker.containers.list(
        filters={"label": f"{LABEL_CONTAINER_ID}={shell['uuid']}"}
    )[0]
    asked = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 {target} {PORT}"
    assert b"HTTP/" in peer.exec_run(["sh", "-c", asked]).output
    # (nothing listens on 8081: a drop times out, a refusal would answer at once)
    began = time.monotonic()
    peer.exec_run(["sh", "-c", f"echo | nc -w 1 {target} {PORT + 1}"])
    assert time.monotonic() - began >= 0.9


def test_the_host_reaches_a_published_port_only_where_a_rule_allows_it(
    service: Dockyard, web: dict[str, Any]
) -> None:
    address = published(service, web["uuid"])
    assert address[0] == "127.0.0.1"
    assert within(2, host_reaches, address) < 2  # the group's 0.0.0.0/0 rule

    [group_id] = web["security_groups"]
    ctx = RequestContext("req-exposed", web["user_id"], web["project_id"])
    networks = service.node.services.networks
    for rule in networks.get_group(ctx, group_id).rules:
        if rule.direction is Direction.INGRESS:
            networks.delete_rule(ctx, rule.id)
    assert within(2, host_blocked, address) < 2

    # docker-proxy connects from the gateway of the container's network: allow just it.
    [entries] = web["addresses"].values()
    subnet = networks.get_subnet(ctx, entries[0]["subnet_id"])
    gateway = str(ipaddress.ip_address(subnet.gateway_ip or ""))
    networks.create_rule(
        ctx,
        security_group_id=group_id,
        direction="ingress",
        protocol="tcp",
        port_range_min=PORT,
        port_range_max=PORT,
        remote_ip_prefix=f"{gateway}/32",
    )
    assert within(2, host_reaches, address) < 2


def test_a_users_port_keeps_its_groups_and_joins_the_exposed_ports_group(
    service: Dockyard, web: dict[str, Any]
) -> None:
    """nets port=...: the port's own group opens nothing; the container's exposed_ports
    group, added to it, opens exactly 8080; after the delete the port is kept with its
    own group alone and the container's group is gone."""
    ctx = RequestContext("req-own-port", web["user_id"], web["project_id"])
    networks = service.node.services.networks
    [network_id] = web["addresses"]
    shut = networks.create_group(ctx, name="shut")  # all egress, no ingress
    own = networks.create_port(ctx, network_id=network_id, security_groups=[shut.id])
    served = run(service, "own-port", nets=[{"port": own.id}], exposed_ports={f"{PORT}/tcp": {}})
    [exposed_id] = served["security_groups"]
    assert groups_listed(service)[exposed_id]["name"] == "own-port-exposed-ports"
    assert networks.get_port(ctx, own.id).security_group_ids == (shut.id, exposed_id)

    target = own.fixed_ips[0].ip_address
    peer = service.docker.containers.list(
        filters={"label": f"{LABEL_CONTAINER_ID}={run(service, 'own-peer')['uuid']}"}
    )[0]
    asked = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 {target} {PORT}"
    assert b"HTTP/" in peer.exec_run(["sh", "-c", asked]).output
    began = time.monotonic()
    peer.exec_run(["sh", "-c", f"echo | nc -w 1 {target} {PORT + 1}"])
    assert time.monotonic() - began >= 0.9  # dropped, not refused: only 8080 is open
    assert within(2, host_reaches, published(service, served["uuid"])) < 2

    uuid = served["uuid"]
    assert service.request("DELETE", f"/v1/containers/{uuid}?force=true").status_code == 204
    service.wait_gone(uuid)
    kept = networks.get_port(ctx, own.id)
    assert (kept.device_id, kept.security_group_ids) == ("", (shut.id,))
    assert exposed_id not in groups_listed(service)


def test_the_group_goes_with_the_container(service: Dockyard, web: dict[str, Any]) -> None:
    [group_id] = web["security_groups"]
    address = published(service, web["uuid"])
    assert service.request("DELETE", f"/v1/containers/{web['uuid']}?force=true").status_code == 204
    service.wait_gone(web["uuid"])
    assert group_id not in groups_listed(service)
    assert host_blocked(address)


def test_a_failed_create_leaves_no_group(service: Dockyard) -> None:
    before = set(groups_listed(service))
    response = service.create(
        {"name": "broken-pub", "command": ["/no/such/binary"], "exposed_ports": {"9090/tcp": {}}}
    )
    assert response.status_code == 202, response.text
    failed = service.wait_for(response.json()["uuid"], "Error")
    deadline = time.monotonic() + 2
    while set(groups_listed(service)) - before:
        assert time.monotonic() < deadline, "the failed create's group is still there"
        time.sleep(0.05)
    assert service.show(failed["uuid"])["addresses"] is None
