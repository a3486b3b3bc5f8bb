"""The agent's network steps: create on the port, plug the rest, rules before start,
give everything back on failure and delete, and reconcile networks and rules."""

from __future__ import annotations

import threading
import time

import pytest

from dockyard.compute.networking import HostNetworkSteps
from dockyard.compute.operations import Operations
from dockyard.compute.reconcile import Reconciler
from dockyard.domain.errors import DriverError
from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.networks import FixedIP, HostNetwork, Port
from dockyard.domain.states import Status, TaskState
from dockyard.rpc.messages import ContainerOperation, CreateContainer
from tests.factories import spec
from tests.fakes.networks import FakeHostNetworking
from tests.unit.compute.helpers import HOST, IMAGE, UUID, World, record

NET_A = HostNetwork("net-a", ())
NET_B = HostNetwork("net-b", ())
PORT_A = Port("port-a", "p", "net-a", "fa:16:3e:00:00:0a", (FixedIP("s", "10.1.0.5"),))
PORT_B = Port("port-b", "p", "net-b", "fa:16:3e:00:00:0b", (FixedIP("s6", "fd00:1::5"),))
FIREWALL = HostFirewall((GuardedPort("port-a", UUID, ("10.1.0.5",), ()),))


@pytest.fixture
def host_net(world: World) -> FakeHostNetworking:
    """The world's operations with networking; steps logged with the runtime's calls."""
    net = FakeHostNetworking(world.runtime.calls)
    steps = HostNetworkSteps(HOST, net, world.control)
    world.ops = Operations(
        HOST, world.runtime, world.images, world.control, 10, world.clock, networks=steps
    )
    return net


def networked(run: bool = True) -> CreateContainer:
    return CreateContainer(
        spec(uuid=UUID, name="web", image=IMAGE, hostname="web-1"),
        run,
        "ifnotpresent",  # type: ignore[arg-type]
        "req-1",
        networks=(NET_A, NET_B),
        ports=(PORT_A, PORT_B),
        firewall=FIREWALL,
    )


def test_created_on_the_first_port_plugged_into_the_rest_rules_before_start(
    world: World, host_net: FakeHostNetworking
) -> None:
    world.control.add(record(task_state=TaskState.CONTAINER_CREATING))

    world.ops.create(networked())

    # The rules go in while the engine creates the container: before the start.
    names = world.runtime.call_names()
    assert [n for n in names if n != "apply_firewall"] == [
        "realise", "realise", "create", "plug", "start", "inspect",
    ]  # fmt: skip
    assert names.count("apply_firewall") == 1
    assert names.index("apply_firewall") < names.index("start")
    created = next(c for c in world.runtime.calls if c.name == "create").args[0]
    assert created.network is not None
    assert (created.network.network_name, created.network.ipv4_address) == (
        "dockyard-net-a",
        "10.1.0.5",
    )
    assert created.network.mac_address == PORT_A.mac_address
    assert created.network.aliases == ("web", "web-1")
    assert next(c for c in world.runtime.calls if c.name == "plug").args[1:] == ("net-b", "port-b")
    assert host_net.firewall == FIREWALL
    assert world.control.containers[UUID].status is Status.RUNNING


def test_a_create_failing_after_its_ports_unplugs_and_refreshes_the_rules(
    world: World, host_net: FakeHostNetworking
) -> None:
    world.control.add(record(task_state=TaskState.CONTAINER_CREATING))
    world.control.firewalls[HOST] = HostFirewall()
    world.runtime.fail_on["start"] = DriverError("the engine refused")

    world.ops.create(networked())

    names = world.runtime.call_names()
    assert names[names.index("start") :] == ["start", "unplug", "unplug", "apply_firewall"]
    assert host_net.firewall == HostFirewall()
    [failed] = [r for r in world.control.reports if r.release_claim]
    assert failed.change.status is Status.ERROR


def test_a_create_without_ports_touches_no_network(
    world: World, host_net: FakeHostNetworking
) -> None:
    world.control.add(record(task_state=TaskState.CONTAINER_CREATING))

    world.ops.create(CreateContainer(spec(uuid=UUID, image=IMAGE), True, "ifnotpresent", "r"))  # type: ignore[arg-type]

    assert world.runtime.call_names() == ["create", "start", "inspect"]
    assert world.runtime.calls[0].args[0].network is None


def test_a_delete_refreshes_the_rules_once_the_container_is_gone(
    world: World, host_net: FakeHostNetworking
) -> None:
    world.control.add(record(status=Status.RUNNING))
    world.runtime.add(spec(uuid=UUID, image=IMAGE))
    host_net.firewall = FIREWALL
    world.control.firewalls[HOST] = HostFirewall()

    world.ops.operate(ContainerOperation(UUID, "delete", "req-2", force=True))

    assert world.control.removed == [UUID]
    assert host_net.firewall == HostFirewall()
    assert world.runtime.call_names()[-2:] == ["remove", "apply_firewall"]


def test_a_delete_drops_the_containers_rules_before_it_reports_the_removal(
    world: World, host_net: FakeHostNetworking
) -> None:
    """Whoever sees the delete done (its record gone) finds no rule of it left."""
    world.control.add(record(status=Status.RUNNING))
    world.runtime.add(spec(uuid=UUID, image=IMAGE))
    other = GuardedPort("port-b", "someone-else", ("10.1.0.6",), ())
    # The records still hold the container's port until the removal is reported.
    world.control.firewalls[HOST] = HostFirewall((*FIREWALL.ports, other))
    enforced_at_report: list[HostFirewall | None] = []
    report = world.control.container_removed

    def removed(uuid: str) -> None:
        enforced_at_report.append(host_net.firewall)
        world.control.firewalls[HOST] = HostFirewall((other,))
        report(uuid)

    world.control.container_removed = removed  # type: ignore[method-assign]

    world.ops.operate(ContainerOperation(UUID, "delete", "req-2", force=True))

    assert enforced_at_report == [HostFirewall((other,))]
    # The pass after the removal finds nothing new to write.
    assert world.runtime.call_names()[-2:] == ["remove", "apply_firewall"]


def test_reconcile_restores_the_rules_and_removes_unexplained_networks(
    world: World, host_net: FakeHostNetworking
) -> None:
    host_net.realise(NET_A)
    host_net.realise(NET_B)
    host_net.realise(HostNetwork("net-busy", ()))
    host_net.plugged["net-busy"] = {"someone"}
    world.control.networks[HOST] = [NET_A]
    world.control.firewalls[HOST] = FIREWALL
    reconciler = Reconciler(
        HOST,
        world.runtime,
        world.control,
        world.clock,
        installation=world.control.installation_id,
        networks=HostNetworkSteps(HOST, host_net, world.control),
    )

    reconciler.run(after_restart=True)

    assert host_net.firewall == FIREWALL
    # Unexplained and empty: removed; still holding a container: kept for a later pass.
    assert sorted(host_net.realised_networks) == ["net-a", "net-busy"]


def test_a_firewall_that_fails_to_apply_does_not_stop_reconciliation(
    world: World, host_net: FakeHostNetworking
) -> None:
    world.control.add(record(status=Status.RUNNING, runtime_id="x"))
    host_net.fail_on["apply_firewall"] = DriverError("nft is gone")
    reconciler = Reconciler(
        HOST,
        world.runtime,
        world.control,
        world.clock,
        installation=world.control.installation_id,
        networks=HostNetworkSteps(HOST, host_net, world.control),
    )

    reconciler.run()  # logs, does not raise


def test_an_agent_without_networking_refuses_a_create_with_ports(world: World) -> None:
    world.control.add(record(task_state=TaskState.CONTAINER_CREATING))

    world.ops.create(networked())

    assert "create" not in world.runtime.call_names()
    [failed] = [r for r in world.control.reports if r.release_claim]
    assert failed.change.status is Status.ERROR
    assert "cannot plug containers into networks" in str(failed.change.reason)


def test_two_creates_never_realise_a_network_at_the_same_time(world: World) -> None:
    """The engine refuses a second bridge for a pool before the first can be looked up."""
    net = FakeHostNetworking()
    inside, overlaps = [0], []
    realise = net.realise

    def slow_realise(network: HostNetwork) -> str:
        inside[0] += 1
        if inside[0] > 1:
            overlaps.append(network.network_id)
        time.sleep(0.05)
        inside[0] -= 1
        return realise(network)

    net.realise = slow_realise  # type: ignore[method-assign]
    steps = HostNetworkSteps(HOST, net, world.control)
    threads = [
        threading.Thread(
            target=steps.prepare, args=(spec(uuid=u, image=IMAGE), (NET_A,), (PORT_A,))
        )
        for u in ("u1", "u2", "u3")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert overlaps == []
