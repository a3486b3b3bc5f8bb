"""Networks and security groups with real packets: one all-in-one on the real engine and kernel.

Containers are created through the API (and, for a second project, through the
same in-process services the API uses: `noauth` knows one project). Traffic is
``busybox nc`` between containers; rules are the kernel's nftables.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from dockyard.domain.labels import LABEL_CONTAINER_ID
from dockyard.domain.models import RequestContext
from dockyard.drivers.network.local.firewall import NftablesFirewall, kernel_tools_present
from tests.conftest import TEST_IMAGE, Dockyard, require, start_dockyard, stop_dockyard
from tests.factories import asked

PORT = 8080
#: Serves "hello" on PORT, one connection after another.
SERVER = ["sh", "-c", f"while true; do echo hello | nc -l -p {PORT}; done"]
IDLE = ["sleep", "3600"]


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    require(kernel_tools_present(), "nft is not installed")
    service = start_dockyard(tmp_path_factory.mktemp("networks"), docker_client)
    yield service
    stop_dockyard(service)
    NftablesFirewall(installation_of(service), service.host).clear()


def installation_of(service: Dockyard) -> str:
    return service.node.agent.installation


def run(service: Dockyard, name: str, command: list[str], **body: Any) -> dict[str, Any]:
    response = service.create({"name": name, "command": command, **body})
    assert response.status_code == 202, response.text
    return service.wait_for(response.json()["uuid"], "Running")


def engine(service: Dockyard, uuid: str) -> Any:
    [found] = service.docker.containers.list(filters={"label": f"{LABEL_CONTAINER_ID}={uuid}"})
    return found


def ip_of(container: dict[str, Any]) -> str:
    [entries] = container["addresses"].values()
    return str(entries[0]["addr"])


def reaches(service: Dockyard, client: dict[str, Any], target: str) -> bool:
    """Whether ``client`` gets "hello" from ``target`` (an address or a name) within 1 s."""
    result = engine(service, client["uuid"]).exec_run(
        ["sh", "-c", f"echo | nc -w 1 {target} {PORT}"]
    )
    return b"hello" in result.output


def eventually_reaches(
    service: Dockyard, client: dict[str, Any], target: str, within: float
) -> float:
    began = time.monotonic()
    while not reaches(service, client, target):
        assert time.monotonic() - began < within, f"{target} not reachable after {within} s"
    return time.monotonic() - began


def finished(service: Dockyard, uuid: str, action: str, timeout: float = 30) -> dict[str, Any]:
    """The container's newest ``action`` in its action log, once it has finished (with
    its events)."""
    deadline = time.monotonic() + timeout
    while True:
        log = service.request("GET", f"/v1/containers/{uuid}/container_actions").json()
        mine = [a for a in log["containerActions"] if a["action"] == action]
        if mine and mine[0]["finish_time"] is not None:
            path = f"/v1/containers/{uuid}/container_actions/{mine[0]['request_id']}"
            return dict(service.request("GET", path).json())
        assert time.monotonic() < deadline, f"{action} of {uuid} did not finish: {mine[:1]}"
        time.sleep(0.05)


def succeeded(service: Dockyard, uuid: str, action: str) -> None:
    """``action`` finished well: its log entry, its one event, no task state left."""
    done = finished(service, uuid, action)
    assert done["message"] is None, done
    assert [(e["event"], e["result"]) for e in done["events"]] == [
        (f"compute__do_container_{action}", "Success")
    ]
    assert service.show(uuid)["task_state"] is None


@pytest.fixture(scope="module")
def pair(service: Dockyard) -> tuple[dict[str, Any], dict[str, Any]]:
    """A server and a client on the project's network, both in the default group."""
    return run(service, "web", SERVER), run(service, "shell", IDLE)


def test_containers_of_a_project_reach_each_other_by_address_and_by_name(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    web, shell = pair
    [(network_id, entries)] = web["addresses"].items()
    assert list(shell["addresses"]) == [network_id]
    assert set(entries[0]) == {"addr", "version", "port", "subnet_id", "preserve_on_delete"}
    assert (entries[0]["version"], entries[0]["preserve_on_delete"]) == (4, False)
    # The engine holds the very address Dockyard allocated.
    settings = engine(service, web["uuid"]).attrs["NetworkSettings"]["Networks"]
    assert [n["IPAddress"] for n in settings.values()] == [ip_of(web)]

    assert eventually_reaches(service, shell, ip_of(web), within=5) < 5
    assert reaches(service, shell, "web")


def test_another_projects_container_cannot_reach_them(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    web, _ = pair
    other = RequestContext("req-other", "intruder", "other-project")
    made = service.node.services.creator.create(
        other, asked(TEST_IMAGE, command=tuple(IDLE), memory=32, cpu=0.1), run=True
    )
    intruder = service.wait_for(made.uuid, "Running")
    assert list(intruder["addresses"]) != list(web["addresses"])

    assert not reaches(service, intruder, ip_of(web))


def test_a_group_without_a_matching_rule_blocks_and_a_rule_added_opens_within_2_s(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, shell = pair
    ctx = RequestContext("req-sg", shell["user_id"], shell["project_id"])
    networks = service.node.services.networks
    closed = networks.create_group(ctx, name="closed")
    guarded = run(service, "guarded", SERVER, security_groups=["closed"])
    assert guarded["security_groups"] == [closed.id]

    assert not reaches(service, shell, ip_of(guarded))

    def open_port() -> str:
        return networks.create_rule(
            ctx,
            security_group_id=closed.id,
            direction="ingress",
            protocol="tcp",
            port_range_min=PORT,
            port_range_max=PORT,
            remote_ip_prefix="0.0.0.0/0",
        ).id

    rule_id = open_port()
    assert eventually_reaches(service, shell, ip_of(guarded), within=2) < 2

    networks.delete_rule(ctx, rule_id)
    began = time.monotonic()
    while reaches(service, shell, ip_of(guarded)):
        assert time.monotonic() - began < 2, "still open 2 s after its rule was deleted"
    open_port()
    assert eventually_reaches(service, shell, ip_of(guarded), within=2) < 2


def test_security_group_actions_change_what_is_enforced_within_2_s(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """At 1.14 (the last version with these actions): remove the group that opens the
    port and the container is closed; add it back and it is open again."""
    _, shell = pair
    guarded = service.show("guarded")
    assert reaches(service, shell, ip_of(guarded))

    def act(action: str, name: str) -> Any:
        path = f"/v1/containers/guarded/{action}?name={name}"
        return service.request("POST", path, version="container 1.14")

    assert act("add_security_group", "closed").status_code == 400  # already there
    assert act("remove_security_group", "nope").status_code == 400
    assert act("add_security_group", "closed").json()["errors"][0]["status"] == 400
    assert service.request(
        "POST", "/v1/containers/guarded/add_security_group?name=default", version="container 1.15"
    ).status_code in (404, 406)
    # A port without groups is not filtered (Neutron's rule): keep one that opens nothing.
    ctx = RequestContext("req-sg2", shell["user_id"], shell["project_id"])
    egress_only = service.node.services.networks.create_group(ctx, name="egress-only")
    uuid = guarded["uuid"]
    assert act("add_security_group", "egress-only").status_code == 202
    succeeded(service, uuid, "add_security_group")
    removed = act("remove_security_group", "closed")
    assert (removed.status_code, removed.json()) == (202, None)
    succeeded(service, uuid, "remove_security_group")
    assert service.show("guarded")["security_groups"] == [egress_only.id]
    assert not reaches(service, shell, ip_of(guarded))

    assert act("add_security_group", "closed").status_code == 202
    assert eventually_reaches(service, shell, ip_of(guarded), within=2) < 2
    succeeded(service, uuid, "add_security_group")


def test_network_list_in_each_versions_shape(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    web, _ = pair
    [(net_id, [entry])] = web["addresses"].items()
    old = service.request(
        "GET", f"/v1/containers/{web['uuid']}/network_list", version="container 1.13"
    )
    new = service.request(
        "GET", f"/v1/containers/{web['uuid']}/network_list", version="container 1.18"
    )
    too_early = service.request(
        "GET", f"/v1/containers/{web['uuid']}/network_list", version="container 1.12"
    )

    assert old.json() == {
        "networks": [
            {
                "net_id": net_id,
                "subnet_id": entry["subnet_id"],
                "port_id": entry["port"],
                "version": 4,
                "ip_address": entry["addr"],
            }
        ]
    }
    assert new.json() == {
        "networks": [
            {
                "net_id": net_id,
                "port_id": entry["port"],
                "fixed_ips": [
                    {"ip_address": entry["addr"], "version": 4, "subnet_id": entry["subnet_id"]}
                ],
            }
        ]
    }
    assert too_early.status_code in (404, 406)


def test_attach_with_a_fixed_ip_then_detach_on_the_running_container(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, shell = pair
    ctx = RequestContext("req-net", shell["user_id"], shell["project_id"])
    networks = service.node.services.networks
    extra = networks.create_network(ctx, name="extra")
    [project_net] = shell["addresses"]
    pool = networks.list_subnets(ctx, network_id=project_net)[0].cidr
    cidr = pool.replace(".0/24", ".0/24").rsplit(".", 2)[0] + ".250.0/24"
    networks.create_subnet(ctx, network_id=extra.id, cidr=cidr)
    fixed = cidr.replace(".0/24", ".77")
    path = f"/v1/containers/{shell['uuid']}"

    both = service.request("POST", f"{path}/network_attach", json={"network": "extra", "port": "x"})
    assert both.status_code == 400
    again = service.request("POST", f"{path}/network_attach", params={"network": project_net})
    assert again.status_code == 400
    attached = service.request(
        "POST", f"{path}/network_attach", params={"network": "extra", "fixed_ip": fixed}
    )
    # Zun answers 200 (its reference says 202) and plugs the container in asynchronously.
    assert (attached.status_code, attached.json()) == (200, None), attached.text
    succeeded(service, shell["uuid"], "network_attach")
    now = service.show(shell["uuid"])
    assert [e["addr"] for e in now["addresses"][extra.id]] == [fixed]
    engine_nets = engine(service, shell["uuid"]).attrs["NetworkSettings"]["Networks"]
    assert engine_nets[f"dockyard-{extra.id}"]["IPAddress"] == fixed

    missing = service.request("POST", f"{path}/network_detach", params={"network": "nowhere"})
    assert missing.status_code == 404
    detached = service.request("POST", f"{path}/network_detach", params={"network": "extra"})
    assert detached.status_code == 202
    succeeded(service, shell["uuid"], "network_detach")
    assert list(service.show(shell["uuid"])["addresses"]) == [project_net]
    engine_nets = engine(service, shell["uuid"]).attrs["NetworkSettings"]["Networks"]
    assert list(engine_nets) == [f"dockyard-{project_net}"]
    assert networks.list_ports(ctx, network_id=extra.id) == []


def test_a_create_failing_after_its_port_was_made_leaves_no_port_rule_or_attachment(
    service: Dockyard,
) -> None:
    response = service.create({"name": "broken", "command": ["/no/such/binary"]})
    assert response.status_code == 202, response.text
    failed = service.wait_for(response.json()["uuid"], "Error")
    ctx = RequestContext("req-broken", failed["user_id"], failed["project_id"])
    # The record shows Error as the agent's report lands; the ports go in the same call
    # and the agent re-applies the rules right after it.
    deadline = time.monotonic() + 2
    while service.node.services.networks.list_ports(ctx, device_id=failed["uuid"]):
        assert time.monotonic() < deadline, "the failed create's port is still there"
    time.sleep(0.5)

    assert service.show(failed["uuid"])["addresses"] is None
    # The engine container stays (in Error, as Zun's does) but on no network of ours.
    engine_nets = engine_all(service, failed["uuid"]).attrs["NetworkSettings"]["Networks"]
    assert not [name for name in engine_nets if name.startswith("dockyard-")]
    # The kernel guards exactly the addresses of the ports still bound to this host.
    everyone = RequestContext("req-all", "admin", failed["project_id"], is_admin=True)
    bound = {
        fixed.ip_address
        for port in service.node.services.networks.list_ports(everyone)
        if port.host == service.host and port.security_group_ids
        for fixed in port.fixed_ips
    }
    assert set(re.findall(r"(\d+\.\d+\.\d+\.\d+) : jump i_", nft_table(service))) == bound


def engine_all(service: Dockyard, uuid: str) -> Any:
    [found] = service.docker.containers.list(
        all=True, filters={"label": f"{LABEL_CONTAINER_ID}={uuid}"}
    )
    return found


def nft_table(service: Dockyard) -> str:
    table = NftablesFirewall(installation_of(service), service.host).names.table
    return subprocess.run(
        ["nft", "list", "table", "inet", table], capture_output=True, text=True, check=True
    ).stdout


def test_removing_a_container_removes_its_port_rules_and_attachment(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    web, _ = pair
    uuid, address = web["uuid"], ip_of(web)
    [network_id] = web["addresses"]
    [port_id] = [e["port"] for e in web["addresses"][network_id]]
    ctx = RequestContext("req-rm", web["user_id"], web["project_id"])
    assert service.request("DELETE", f"/v1/containers/{uuid}?force=true").status_code == 204
    service.wait_gone(uuid)

    assert [p.id for p in service.node.services.networks.list_ports(ctx) if p.id == port_id] == []
    assert not service.docker.containers.list(
        all=True, filters={"label": f"{LABEL_CONTAINER_ID}={uuid}"}
    )
    inspected = service.docker.api.inspect_network(f"dockyard-{network_id}")
    assert address not in str(inspected.get("Containers"))
    # The agent drops the rules before it reports the removal; allow the 2 s.
    deadline = time.monotonic() + 2
    while address in nft_table(service):
        assert time.monotonic() < deadline, f"{address} still guarded 2 s after the delete"
        time.sleep(0.05)


def test_the_firewall_comes_back_after_the_rules_are_lost(
    service: Dockyard, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, shell = pair
    firewall = NftablesFirewall(installation_of(service), service.host)
    # The agent's own loop may put the table back between the clear and the look.
    for _ in range(5):
        firewall.clear()
        if not firewall.present():
            break
    assert not firewall.present()

    service.node.agent.reconciler.run(after_restart=True)

    assert firewall.present()
    assert (
        ip_of(shell)
        in subprocess.run(
            ["nft", "list", "table", "inet", firewall.names.table],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
