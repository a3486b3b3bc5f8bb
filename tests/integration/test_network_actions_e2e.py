"""network_attach / network_detach / add_security_group as Zun runs them, on the real
engine and kernel: the API answers at once, the agent does the work under a task
state, the action log records start, finish and failure, and an agent that stops
midway leaves nothing stuck or half-plugged once its reconcile loop has run.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST
from dockyard.domain.models import RequestContext
from dockyard.domain.networks import Network
from dockyard.drivers.network.local.firewall import NftablesFirewall, kernel_tools_present
from tests.conftest import (
    Dockyard,
    private_network_pool,
    require,
    start_dockyard,
    stop_dockyard,
)
from tests.integration.test_networks_e2e import IDLE, finished, run, succeeded


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Dockyard]:
    require(kernel_tools_present(), "nft is not installed")
    service = start_dockyard(tmp_path_factory.mktemp("netactions"), docker_client)
    yield service
    stop_dockyard(service)
    NftablesFirewall(service.node.agent.installation, service.host).clear()


@pytest.fixture(scope="module")
def shell(service: Dockyard) -> dict[str, Any]:
    return run(service, "shell", IDLE)


def ctx_of(container: dict[str, Any]) -> RequestContext:
    return RequestContext("req-test", container["user_id"], container["project_id"])


def new_network(service: Dockyard, owner: dict[str, Any], name: str) -> tuple[Network, str]:
    """A network of the container's project on a /24 no engine network holds now."""
    networks = service.node.services.networks
    network = networks.create_network(ctx_of(owner), name=name)
    cidr = str(next(ipaddress.ip_network(private_network_pool(service.docker)).subnets(4)))
    networks.create_subnet(ctx_of(owner), network_id=network.id, cidr=cidr)
    return network, cidr


def engine_networks(service: Dockyard, uuid: str) -> dict[str, Any]:
    [found] = service.docker.containers.list(filters={"label": f"{LABEL_CONTAINER_ID}={uuid}"})
    return dict(found.attrs["NetworkSettings"]["Networks"])


def attach(service: Dockyard, uuid: str, network: str) -> Any:
    return service.request(
        "POST", f"/v1/containers/{uuid}/network_attach", params={"network": network}
    )


def hold(service: Dockyard, name: str) -> tuple[threading.Event, threading.Event]:
    """Make the agent's ``_do_<name>`` wait (reached, release) around the real one."""
    ops = service.node.agent.ops
    real: Callable[[Any], None] = getattr(ops, f"_do_{name}")
    reached, release = threading.Event(), threading.Event()

    def held(msg: Any) -> None:
        reached.set()
        assert release.wait(30)
        real(msg)

    setattr(ops, f"_do_{name}", held)
    return reached, release


def test_the_task_state_shows_while_the_agent_works_and_other_actions_wait(
    service: Dockyard, shell: dict[str, Any]
) -> None:
    uuid = shell["uuid"]
    network, _ = new_network(service, shell, "held")
    reached, release = hold(service, "network_attach")
    try:
        answered = attach(service, uuid, "held")
        assert (answered.status_code, answered.json()) == (200, None), answered.text
        assert reached.wait(30)

        now = service.show(uuid)
        assert now["task_state"] == "network_attaching"
        assert network.id in now["addresses"]  # the record holds what is being made
        [entry] = [
            a
            for a in service.request("GET", f"/v1/containers/{uuid}/container_actions").json()[
                "containerActions"
            ]
            if a["action"] == "network_attach"
        ]
        assert entry["finish_time"] is None
        busy = service.request("POST", f"/v1/containers/{uuid}/pause")
        assert busy.status_code == 409, busy.text
    finally:
        release.set()
        del service.node.agent.ops._do_network_attach
    succeeded(service, uuid, "network_attach")
    assert f"dockyard-{network.id}" in engine_networks(service, uuid)

    reached, release = hold(service, "add_security_group")
    group = service.node.services.networks.create_group(ctx_of(shell), name="held-group")
    try:
        added = service.request(
            "POST", f"/v1/containers/{uuid}/add_security_group?name=held-group",
            version="container 1.14",
        )  # fmt: skip
        assert added.status_code == 202, added.text
        assert reached.wait(30)
        assert service.show(uuid)["task_state"] == "sg_adding"
    finally:
        release.set()
        del service.node.agent.ops._do_add_security_group
    succeeded(service, uuid, "add_security_group")
    assert group.id in service.show(uuid)["security_groups"]


def test_an_attach_the_engine_refuses_is_logged_as_failed_and_leaves_nothing(
    service: Dockyard, shell: dict[str, Any]
) -> None:
    uuid = shell["uuid"]
    network, cidr = new_network(service, shell, "refused")
    # The engine refuses a second bridge on a pool it already holds.
    blocker = service.docker.networks.create(
        f"netact-blocker-{network.id[:8]}",
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=cidr)]),
        labels={LABEL_HOST: service.host},
    )
    try:
        before = service.show(uuid)
        assert attach(service, uuid, "refused").status_code == 200

        done = finished(service, uuid, "network_attach")
        assert done["message"] == "Error", done
        assert [e["result"] for e in done["events"]] == ["Error"]
        after = service.show(uuid)
        assert after["task_state"] is None
        assert after["status"] == "Running"
        assert "network_attach failed" in (after["status_reason"] or "")
        assert after["addresses"] == before["addresses"]
        assert service.node.services.networks.list_ports(ctx_of(shell), network_id=network.id) == []
        assert f"dockyard-{network.id}" not in engine_networks(service, uuid)
    finally:
        blocker.remove()


def test_an_attach_whose_agent_stopped_before_plugging_is_finished_by_the_reconcile_loop(
    service: Dockyard, shell: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    uuid = shell["uuid"]
    network, _ = new_network(service, shell, "lost-attach")
    # The cast reaches an agent that dies before it acts.
    monkeypatch.setattr(service.node.agent, "operate", lambda message: None)
    assert attach(service, uuid, "lost-attach").status_code == 200
    assert service.show(uuid)["task_state"] == "network_attaching"
    monkeypatch.undo()

    service.node.agent.reconciler.run(after_restart=True)

    now = service.show(uuid)
    assert now["task_state"] is None
    [entry] = now["addresses"][network.id]
    assert engine_networks(service, uuid)[f"dockyard-{network.id}"]["IPAddress"] == entry["addr"]
    done = finished(service, uuid, "network_attach")
    assert done["message"] == "Error"
    assert "interrupted" in str(done["events"])


def test_a_detach_whose_agent_stopped_midway_leaves_the_engine_as_the_record_says(
    service: Dockyard, shell: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    uuid = shell["uuid"]
    network, _ = new_network(service, shell, "lost-detach")
    assert attach(service, uuid, "lost-detach").status_code == 200
    succeeded(service, uuid, "network_attach")
    # The agent unplugs the container, then dies before the record changes.
    monkeypatch.setattr(service.node.agent, "operate", lambda message: None)
    detached = service.request(
        "POST", f"/v1/containers/{uuid}/network_detach", params={"network": "lost-detach"}
    )
    assert detached.status_code == 202
    monkeypatch.undo()
    service.docker.networks.get(f"dockyard-{network.id}").disconnect(uuid_name(service, uuid))
    assert f"dockyard-{network.id}" not in engine_networks(service, uuid)
    assert service.show(uuid)["task_state"] == "network_detaching"

    service.node.agent.reconciler.run(after_restart=True)

    # Not recorded as detached: plugged again, with its recorded address.
    now = service.show(uuid)
    assert now["task_state"] is None
    [entry] = now["addresses"][network.id]
    assert engine_networks(service, uuid)[f"dockyard-{network.id}"]["IPAddress"] == entry["addr"]
    assert finished(service, uuid, "network_detach")["message"] == "Error"
    # And a detach asked again now goes through.
    again = service.request(
        "POST", f"/v1/containers/{uuid}/network_detach", params={"network": "lost-detach"}
    )
    assert again.status_code == 202
    succeeded(service, uuid, "network_detach")
    assert network.id not in service.show(uuid)["addresses"]
    assert f"dockyard-{network.id}" not in engine_networks(service, uuid)


def uuid_name(service: Dockyard, uuid: str) -> str:
    [found] = service.docker.containers.list(filters={"label": f"{LABEL_CONTAINER_ID}={uuid}"})
    return str(found.id)
