"""The host side of the local driver: Docker bridge networks, and the kernel firewall."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Final

import docker
import docker.errors
import docker.types

from dockyard.domain.errors import Conflict, InvalidInput, NetworkInUse, NotFound
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.models import LABEL_HOST
from dockyard.domain.networks import HostNetwork, Port
from dockyard.drivers.docker_engine import engine_errors, explanation
from dockyard.drivers.network.base import HostNetworking, RealisedNetwork, network_name
from dockyard.drivers.network.local.firewall import NftablesFirewall
from dockyard.drivers.network.local.tunnels import TunnelNames, VxlanTunnels

LABEL_INSTALLATION: Final = "dockyard.installation"
LABEL_NETWORK_ID: Final = "dockyard.network_id"
_MTU_OPTION: Final = "com.docker.network.driver.mtu"
_BRIDGE_NAME_OPTION: Final = "com.docker.network.bridge.name"


def _canonical(pairs: Sequence[tuple[str, str | None]]) -> set[tuple[str, str | None]]:
    return {
        (str(ipaddress.ip_network(cidr)), str(ipaddress.ip_address(gw)) if gw else None)
        for cidr, gw in pairs
    }


def _wanted_subnets(network: HostNetwork) -> set[tuple[str, str | None]]:
    return _canonical([(s.cidr, s.gateway_ip) for s in network.subnets])


def _engine_subnets(inspected: dict[str, Any]) -> set[tuple[str, str | None]]:
    configs = (inspected.get("IPAM") or {}).get("Config") or []
    return _canonical([(c["Subnet"], c.get("Gateway") or None) for c in configs])


def _ipam(network: HostNetwork) -> docker.types.IPAMConfig:
    pools = []
    for subnet in network.subnets:
        if subnet.gateway_ip is None:
            raise InvalidInput(
                f"Subnet {subnet.id} has no gateway: a bridge network needs one (the host "
                "holds it).",
                field="gateway_ip",
            )
        pools.append(docker.types.IPAMPool(subnet=subnet.cidr, gateway=subnet.gateway_ip))
    return docker.types.IPAMConfig(driver="default", pool_configs=pools)


def _port_addresses(port: Port) -> tuple[str | None, str | None]:
    v4 = v6 = None
    for fixed in port.fixed_ips:
        address = ipaddress.ip_address(fixed.ip_address)
        if address.version == 4 and v4 is None:
            v4 = str(address)
        elif address.version == 6 and v6 is None:
            v6 = str(address)
    return v4, v6


class BridgeHost(HostNetworking):
    """Dockyard networks as Docker bridge networks on one engine, and nftables rules."""

    def __init__(
        self,
        client: docker.DockerClient,
        host: str,
        installation: str,
        firewall: NftablesFirewall | None = None,
        tunnels: VxlanTunnels | None = None,
    ) -> None:
        self.api: Any = client.api
        self.host = host
        self.installation = installation
        self.firewall = firewall or NftablesFirewall(installation, host)
        #: Carries networks to the other hosts; None: this host's networks stay its own.
        self.tunnels = tunnels

    def _labels(self, network_id: str | None = None) -> dict[str, str]:
        labels = {LABEL_INSTALLATION: self.installation, LABEL_HOST: self.host}
        if network_id is not None:
            labels[LABEL_NETWORK_ID] = network_id
        return labels

    def _is_ours(self, inspected: dict[str, Any], network_id: str) -> bool:
        labels = inspected.get("Labels") or {}
        return all(labels.get(key) == value for key, value in self._labels(network_id).items())

    def _inspect(self, name_or_id: str) -> dict[str, Any] | None:
        with engine_errors():
            try:
                return dict(self.api.inspect_network(name_or_id))
            except docker.errors.NotFound:
                return None

    def realise(self, network: HostNetwork) -> str:
        runtime_id = self._realise(network)
        if self.tunnels is not None and network.segment is not None:
            inspected = self._ours(network.network_id)
            if inspected is not None:
                self.tunnels.ensure(network, bridge_of(inspected))
        return runtime_id

    def _options(self, network: HostNetwork) -> dict[str, str]:
        mtu = network.mtu
        if self.tunnels is not None and network.segment is not None:
            mtu = self.tunnels.mtu(mtu)
        bridge = TunnelNames(self.installation, self.host).bridge(network.network_id)
        return {_MTU_OPTION: str(mtu), _BRIDGE_NAME_OPTION: bridge}

    def _realise(self, network: HostNetwork) -> str:
        name = network_name(network.network_id)
        existing = self._inspect(name)
        if existing is None:
            with engine_errors():
                try:
                    created = self.api.create_network(
                        name,
                        driver="bridge",
                        ipam=_ipam(network),
                        enable_ipv6=any(s.ip_version == 6 for s in network.subnets),
                        options=self._options(network),
                        labels=self._labels(network.network_id),
                        check_duplicate=True,
                    )
                    return str(created["Id"])
                except docker.errors.APIError as exc:
                    existing = self._inspect(name)  # made concurrently, or refused
                    if existing is None:
                        raise Conflict(
                            f"The engine refused network {network.network_id}: {explanation(exc)}",
                            network_id=network.network_id,
                        ) from exc
        return self._reuse(existing, network)

    def _reuse(self, existing: dict[str, Any], network: HostNetwork) -> str:
        if not self._is_ours(existing, network.network_id):
            raise Conflict(
                f"Engine network {existing.get('Name')} exists and is not this Dockyard's.",
                network_id=network.network_id,
            )
        have, want = _engine_subnets(existing), _wanted_subnets(network)
        if have != want:
            raise Conflict(
                f"Engine network {existing.get('Name')} has subnets {sorted(have, key=str)}, "
                f"not {sorted(want, key=str)}.",
                network_id=network.network_id,
            )
        return str(existing["Id"])

    def _ours(self, network_id: str) -> dict[str, Any] | None:
        inspected = self._inspect(network_name(network_id))
        if inspected is None or not self._is_ours(inspected, network_id):
            return None
        return inspected

    def plug(
        self, container: str, network: HostNetwork, port: Port, aliases: Sequence[str] = ()
    ) -> None:
        inspected = self._ours(network.network_id)
        if inspected is None:
            raise NotFound(f"Network {network.network_id} is not realised on {self.host}.")
        v4, v6 = _port_addresses(port)
        with engine_errors():
            try:
                self.api.connect_container_to_network(
                    container,
                    inspected["Id"],
                    ipv4_address=v4,
                    ipv6_address=v6,
                    aliases=list(aliases) or None,
                )
            except docker.errors.NotFound as exc:
                raise NotFound(explanation(exc)) from exc
            except docker.errors.APIError as exc:
                if "already exists" not in explanation(exc):
                    raise Conflict(explanation(exc)) from exc
                self._check_plugged(container, str(inspected["Name"]), v4, v6)

    def _check_plugged(self, container: str, name: str, v4: str | None, v6: str | None) -> None:
        with engine_errors():
            settings = self.api.inspect_container(container)["NetworkSettings"]["Networks"]
        config = (settings.get(name) or {}).get("IPAMConfig") or {}
        have = (config.get("IPv4Address") or None, config.get("IPv6Address") or None)
        if have != (v4, v6):
            raise Conflict(
                f"Container {container} is on {name} with addresses {have}, not {(v4, v6)}."
            )

    def unplug(self, container: str, network_id: str) -> None:
        inspected = self._ours(network_id)
        if inspected is None:
            return
        with engine_errors():
            try:
                self.api.disconnect_container_from_network(container, inspected["Id"])
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if "is not connected" not in explanation(exc):
                    raise

    def remove(self, network_id: str) -> None:
        inspected = self._ours(network_id)
        if inspected is None:
            return
        count = len(self._members(inspected))
        if count:
            raise NetworkInUse(
                f"Network {network_id} still has {count} container(s) on {self.host}.",
                network_id=network_id,
            )
        with engine_errors():
            try:
                self.api.remove_network(inspected["Id"])
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if "active endpoints" in explanation(exc):
                    raise NetworkInUse(explanation(exc), network_id=network_id) from exc
                raise
        if self.tunnels is not None:
            self.tunnels.remove(network_id)

    def _members(self, inspected: dict[str, Any]) -> set[str]:
        """Runtime ids of the containers on the network, started or only created.

        A created container has no endpoint until it starts (so the network's
        ``Containers`` omits it) and no network id in its settings: only the
        name filter finds it.
        """
        with engine_errors():
            listed = self.api.containers(all=True, filters={"network": inspected["Name"]})
        return set(inspected.get("Containers") or {}) | {str(c["Id"]) for c in listed}

    def realised(self) -> tuple[RealisedNetwork, ...]:
        labels = [f"{key}={value}" for key, value in self._labels().items()]
        with engine_errors():
            listed = self.api.networks(filters={"label": labels})
        found = []
        for summary in listed:
            network_id = (summary.get("Labels") or {}).get(LABEL_NETWORK_ID)
            inspected = self._inspect(summary["Id"]) if network_id else None
            if not network_id or inspected is None:
                continue
            found.append(
                RealisedNetwork(
                    network_id=network_id,
                    runtime_id=str(inspected["Id"]),
                    cidrs=tuple(sorted(cidr for cidr, _ in _engine_subnets(inspected))),
                    containers=tuple(sorted(self._members(inspected))),
                )
            )
        return tuple(sorted(found, key=lambda r: r.network_id))

    def apply_firewall(self, firewall: HostFirewall, only_if_changed: bool = False) -> None:
        self.firewall.apply(firewall, only_if_changed)

    @property
    def tunnel_address(self) -> str | None:
        return None if self.tunnels is None else self.tunnels.local

    def join_hosts(self, networks: Sequence[HostNetwork]) -> None:
        if self.tunnels is None:
            return
        wanted = []
        for network in networks:
            inspected = self._ours(network.network_id) if network.segment is not None else None
            if inspected is not None:
                wanted.append((network, bridge_of(inspected)))
        self.tunnels.sync(wanted)


def bridge_of(inspected: dict[str, Any]) -> str:
    """The Linux bridge of a Docker bridge network (named by Dockyard, else the engine's)."""
    options = inspected.get("Options") or {}
    return str(options.get(_BRIDGE_NAME_OPTION) or f"br-{str(inspected['Id'])[:12]}")


def engine_subnets(
    engine_url: str, timeout: int
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The subnets of every network the engine holds, whoever made it."""
    client = docker.DockerClient(base_url=engine_url, timeout=timeout)
    try:
        with engine_errors():
            listed = client.api.networks()
    finally:
        client.close()
    return [
        ipaddress.ip_network(config["Subnet"], strict=False)
        for item in listed
        for config in (item.get("IPAM") or {}).get("Config") or []
        if config.get("Subnet")
    ]
