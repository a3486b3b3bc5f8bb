"""One project network across two hosts, with real packets through real VXLAN tunnels.

Two hosts, each a network namespace with its own Docker engine and agent
(tests/support/netns_hosts.py), joined by one underlay link; a conductor and two
API processes (two projects: ``noauth`` knows one each) on the machine. Traffic is
``busybox nc`` between containers; the tunnels are the kernel's.

The agents reconcile only every ``SYNC_INTERVAL`` s, longer than any test here waits:
what happens in time is what the control side pushes (a member came or went, a rule
changed), or what an agent does when it starts.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from dockyard.domain.labels import LABEL_CONTAINER_ID
from tests.conftest import LATEST, TEST_IMAGE, free_port
from tests.support.broker import TRANSPORT_URL
from tests.support.cluster import SLOT_CPU, Cluster, HostSpec, Process, running_cluster
from tests.support.netns_hosts import NetnsHost, two_hosts

PORT = 8080
SERVER = ["sh", "-c", f"while true; do echo hello | nc -l -p {PORT}; done"]
IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
SYNC_INTERVAL = 300


class Setup:
    def __init__(self, cluster: Cluster, hosts: tuple[NetnsHost, NetnsHost], other: str) -> None:
        self.cluster = cluster
        self.hosts = hosts
        #: The API process of a second project.
        self.other = other
        #: (API, uuid) of every container made.
        self.made: list[tuple[str, str]] = []

    def host_of(self, index: int) -> NetnsHost:
        return self.hosts[index - 1]

    def run(self, zone: str, name: str, command: list[str], api: str = "", **body: Any) -> Any:
        full = {"image": TEST_IMAGE, "command": command, "memory": 32, "cpu": SLOT_CPU,
                "name": name, "availability_zone": zone, **body}  # fmt: skip
        made = requests.post(
            (api or self.cluster.url) + "/v1/containers?run=true",
            json=full,
            headers={"OpenStack-API-Version": LATEST},
            timeout=60,
        )
        assert made.status_code == 202, made.text
        uuid = made.json()["uuid"]
        self.made.append((api or self.cluster.url, uuid))
        deadline = time.monotonic() + 60
        while True:
            shown = requests.get(
                f"{api or self.cluster.url}/v1/containers/{uuid}",
                headers={"OpenStack-API-Version": LATEST},
                timeout=30,
            ).json()
            if shown["status"] == "Running" and shown["task_state"] is None:
                return shown
            assert shown["status"] not in ("Error", "Stopped"), (shown, self.cluster.logs())
            assert time.monotonic() < deadline, shown
            time.sleep(0.3)

    def exec(self, container: dict[str, Any], script: str) -> bytes:
        index = 1 if container["host"] == self.cluster.host("a") else 2
        client = docker.APIClient(base_url=self.host_of(index).url, timeout=30)
        try:
            [found] = client.containers(
                filters={"label": f"{LABEL_CONTAINER_ID}={container['uuid']}"}
            )
            made = client.exec_create(found["Id"], ["sh", "-c", script])
            return bytes(client.exec_start(made["Id"]))
        finally:
            client.close()

    def reaches(self, client: dict[str, Any], target: str) -> bool:
        return b"hello" in self.exec(client, f"echo | nc -w 1 {target} {PORT}")

    def eventually_reaches(self, client: dict[str, Any], target: str, within: float) -> None:
        deadline = time.monotonic() + within
        while not self.reaches(client, target):
            assert time.monotonic() < deadline, f"{target} unreachable after {within} s"

    def tunnels(self, index: int) -> dict[str, dict[str, Any]]:
        """This host's Dockyard VXLAN devices, by the network they carry."""
        found = json.loads(
            self.host_of(index).ip("-d", "-j", "link", "show", "type", "vxlan").stdout or "[]"
        )
        return {
            str(link["ifalias"]).split()[-1]: link
            for link in found
            if str(link.get("ifalias", "")).startswith("dockyard-tunnel ")
        }

    def peers(self, index: int, device: str) -> set[str]:
        entries = json.loads(
            self.host_of(index).enter("bridge", "-j", "fdb", "show", "dev", device).stdout
        )
        return {e["dst"] for e in entries if e.get("mac") == "00:00:00:00:00:00"}


def ip_of(container: dict[str, Any]) -> str:
    [entries] = container["addresses"].values()
    return str(entries[0]["addr"])


def network_of(container: dict[str, Any]) -> str:
    [network_id] = container["addresses"]
    return str(network_id)


def _second_project_api(cluster: Cluster, root: Path, port: int) -> None:
    """Another API process on the same database and broker, acting for another project
    (started with the cluster)."""
    text = cluster.processes["api"].config.read_text()
    first = urllib.parse.urlparse(cluster.url).port
    conf = root / "api-other.conf"
    conf.write_text(
        text.replace(f"port = {first}", f"port = {port}")
        + "[DEFAULT]\nnoauth_project_id = intruders\nnoauth_user_id = intruder\n"
    )
    cluster.processes["api-other"] = Process(
        "api-other", "dockyard-api", conf, root / "api-other.log"
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("tunnels")
    broker_port = urllib.parse.urlparse(TRANSPORT_URL).port or 5672
    with two_hosts(root, broker_port) as hosts:
        specs = [
            HostSpec(
                suffix,
                host.url,
                zone,
                12,
                netns=host.netns,
                config=("[network]", f"tunnel_address = {host.address}"),
            )
            for suffix, zone, host in (("a", "az1", hosts[0]), ("b", "az2", hosts[1]))
        ]
        port = free_port()
        with running_cluster(
            root,
            specs=specs,
            sync_interval=SYNC_INTERVAL,
            before_start=lambda cluster: _second_project_api(cluster, root, port),
        ) as cluster:
            yield Setup(cluster, hosts, f"http://127.0.0.1:{port}")


def test_containers_of_one_network_on_two_hosts_reach_each_other(setup: Setup) -> None:
    web = setup.run("az1", "web", SERVER)
    shell = setup.run("az2", "shell", IDLE)
    network = network_of(web)
    assert network_of(shell) == network

    # Host 1 had no peer for the network; it was told of host 2's member when the port
    # was made, before host 2 started the container (its own reconcile pass is minutes
    # away): within 2 s of that container running, host 1 sends to host 2.
    deadline = time.monotonic() + 2
    while setup.peers(1, setup.tunnels(1)[network]["ifname"]) != {setup.host_of(2).address}:
        assert time.monotonic() < deadline, setup.cluster.logs()
        time.sleep(0.1)
    setup.eventually_reaches(shell, ip_of(web), within=10)
    # Each host carries the network to the other, and only to it.
    one, two = setup.tunnels(1)[network], setup.tunnels(2)[network]
    assert one["linkinfo"]["info_data"]["id"] == two["linkinfo"]["info_data"]["id"]
    assert setup.peers(1, one["ifname"]) == {setup.host_of(2).address}
    assert setup.peers(2, two["ifname"]) == {setup.host_of(1).address}
    assert one["mtu"] == 1450


def test_the_gateway_stays_on_each_host(setup: Setup) -> None:
    """Both bridges hold the gateway address: a container must resolve it to its own
    host's bridge, and its ARP for it must not reach the other host's."""
    shell = setup.run("az2", "gw-check", IDLE)
    gateway = setup.exec(shell, "ip route | sed -n 's/^default via \\([^ ]*\\).*/\\1/p'")
    gateway_ip = gateway.decode().strip()
    setup.exec(shell, f"echo | nc -w 1 {gateway_ip} 9 ; true")
    neighbour = setup.exec(shell, f"ip neigh show {gateway_ip}").decode()
    [bridge] = [
        link
        for link in json.loads(setup.host_of(2).ip("-j", "addr", "show").stdout)
        if any(a.get("local") == gateway_ip for a in link.get("addr_info", []))
    ]
    assert bridge["address"] in neighbour, neighbour
    # A host answering an ARP request for its address notes the asker: host 1 never did.
    time.sleep(0.5)
    assert not setup.host_of(1).ip("neigh", "show", ip_of(shell)).stdout.strip()


def test_another_projects_container_on_the_other_host_is_unreachable(setup: Setup) -> None:
    web = setup.run("az1", "web-2", SERVER)
    intruder = setup.run("az2", "intruder", IDLE, api=setup.other)
    assert network_of(intruder) != network_of(web)
    neighbour = setup.run("az2", "neighbour", IDLE)
    setup.eventually_reaches(neighbour, ip_of(web), within=10)

    assert not setup.reaches(intruder, ip_of(web))


def test_an_ingress_rule_holds_for_tunnelled_traffic(setup: Setup) -> None:
    api = setup.cluster.url
    group = requests.post(
        f"{api}/v2.0/security-groups", json={"security_group": {"name": "closed"}}, timeout=30
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["security_group"]["id"]
    guarded = setup.run("az1", "guarded", SERVER, security_groups=["closed"])
    shell = setup.run("az2", "shell-2", IDLE)
    assert not setup.reaches(shell, ip_of(guarded))

    rule = requests.post(
        f"{api}/v2.0/security-group-rules",
        json={"security_group_rule": {
            "security_group_id": group_id, "direction": "ingress", "protocol": "tcp",
            "port_range_min": PORT, "port_range_max": PORT, "remote_ip_prefix": "0.0.0.0/0",
        }},
        timeout=30,
    )  # fmt: skip
    assert rule.status_code == 201, rule.text
    setup.eventually_reaches(shell, ip_of(guarded), within=3)


def test_an_agent_restart_restores_a_lost_tunnel(setup: Setup) -> None:
    web = setup.run("az1", "web-3", SERVER)
    shell = setup.run("az2", "shell-3", IDLE)
    intruder = setup.run("az2", "intruder-3", IDLE, api=setup.other)
    network = network_of(web)
    setup.eventually_reaches(shell, ip_of(web), within=10)

    # As after a reboot of the host: the agent is down and the device gone.
    agent = setup.cluster.host("a")
    setup.cluster.kill(agent)
    device = setup.tunnels(1)[network]["ifname"]
    setup.host_of(1).ip("link", "del", "dev", device)
    assert not setup.reaches(shell, ip_of(web))
    setup.cluster.launch(agent)
    setup.cluster.wait_ready(agent)

    setup.eventually_reaches(shell, ip_of(web), within=10)
    assert setup.peers(1, device) == {setup.host_of(2).address}
    assert not setup.reaches(intruder, ip_of(web))


def test_the_last_member_leaving_takes_the_tunnel_down(setup: Setup) -> None:
    for api, uuid in setup.made:
        gone = requests.delete(
            f"{api}/v1/containers/{uuid}?force=true",
            headers={"OpenStack-API-Version": LATEST},
            timeout=30,
        )
        assert gone.status_code == 204, gone.text
    # Each removal tells the hosts still carrying the network (and the member's own).
    deadline = time.monotonic() + 30
    while setup.tunnels(1) or setup.tunnels(2):
        assert time.monotonic() < deadline, (setup.tunnels(1), setup.tunnels(2))
        time.sleep(0.5)
    for index in (1, 2):
        table = setup.host_of(index).enter("nft", "list", "tables", "bridge").stdout
        assert "dockyard_" not in table
