"""What the network tests against the real engine and kernel share.

Everything made here carries the test's own installation id (a label on engine
objects, the chain names in the kernel) and is removed at the end; nothing of
anyone else's is touched.
"""

from __future__ import annotations

import contextlib
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import docker
import docker.errors
import pytest

from dockyard.domain.networks import FixedIP, HostNetwork, Port, Subnet, new_subnet
from dockyard.drivers.network.local.host import LABEL_INSTALLATION, BridgeHost

IMAGE = "dockyard-test/busybox:latest"
SERVER = ("sh", "-c", "mkdir -p /www && echo hello-from-dockyard > /www/index.html && "
          "exec httpd -f -p 8080 -h /www")  # fmt: skip
IDLE = ("sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait")


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(f"!!! NETWORK TESTS SKIPPED: {reason} (set CI=1 to make this fail)")


def engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        client.api.inspect_image(IMAGE)
    except Exception as exc:  # any failure here means "no engine or no image"
        unavailable(f"Docker Engine or the image {IMAGE} missing ({exc})")
    return client


def free_cidr(client: docker.DockerClient, prefix: str = "10.251") -> str:
    """A /24 under ``prefix`` that no network on the engine overlaps."""
    taken = {
        config.get("Subnet", "")
        for net in client.api.networks()
        for config in ((net.get("IPAM") or {}).get("Config") or [])
    }
    third = list(range(0, 255))
    random.shuffle(third)
    for octet in third:
        cidr = f"{prefix}.{octet}.0/24"
        if not any(t.startswith(f"{prefix}.{octet}.") for t in taken):
            return cidr
    unavailable(f"no free /24 under {prefix} on the engine")


def host_network(cidr: str, *more: Subnet) -> HostNetwork:
    network_id = str(uuid.uuid4())
    subnet = new_subnet(id=str(uuid.uuid4()), network_id=network_id, project_id="p", cidr=cidr)
    return HostNetwork(network_id, (subnet, *more))


def port_on(network: HostNetwork, *addresses: str, groups: tuple[str, ...] = ()) -> Port:
    return Port(
        id=str(uuid.uuid4()),
        project_id="p",
        network_id=network.network_id,
        mac_address="0a:d7:00:00:00:01",
        fixed_ips=tuple(FixedIP(network.subnets[0].id, a) for a in addresses),
        security_group_ids=groups,
    )


@dataclass
class Site:
    """A BridgeHost of a throw-away installation, and a way to make containers on it."""

    client: docker.DockerClient
    host: BridgeHost
    installation: str

    def container(self, command: tuple[str, ...] = IDLE) -> str:
        """A created (not started) container, detached from the engine's default bridge."""
        name = f"dockyard-nettest-{uuid.uuid4().hex[:12]}"
        self.client.api.create_container(
            IMAGE,
            command=list(command),
            name=name,
            labels={LABEL_INSTALLATION: self.installation},
            host_config=self.client.api.create_host_config(network_mode="bridge"),
        )
        self.client.api.disconnect_container_from_network(name, "bridge")
        return name

    def exec(self, container: str, command: str) -> str:
        run = self.client.api.exec_create(container, ["sh", "-c", command])
        return bytes(self.client.api.exec_start(run["Id"])).decode(errors="replace")

    def fetch(self, client: str, address: str, port: int = 8080) -> str:
        """What an HTTP GET from ``client`` to ``address`` gets ("" when it gets nothing)."""
        return self.exec(
            client, f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {address} {port}"
        )

    def clean(self) -> None:
        label = f"{LABEL_INSTALLATION}={self.installation}"
        for summary in self.client.api.containers(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_container(summary["Id"], force=True)
        for summary in self.client.api.networks(filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_network(summary["Id"])
        self.host.firewall.clear()


@contextlib.contextmanager
def site(client: docker.DockerClient, host: str = "nettest") -> Iterator[Site]:
    installation = f"test-{uuid.uuid4().hex[:12]}"
    made = Site(client, BridgeHost(client, host, installation), installation)
    try:
        yield made
    finally:
        made.clean()
