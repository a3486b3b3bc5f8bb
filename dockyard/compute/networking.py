"""The agent's network steps: plug a new container in, unplug it, keep the firewall and
the engine networks of this host true to the records."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from dockyard.domain.errors import DockyardError, NetworkInUse
from dockyard.domain.firewall import HostFirewall, without_container
from dockyard.domain.models import ContainerSpec
from dockyard.domain.networks import Endpoint, HostNetwork, Port
from dockyard.drivers.network.base import HostNetworking, network_name
from dockyard.rpc.api import ControlAPI

LOG = logging.getLogger(__name__)


def _first_of(port: Port, version: int) -> str | None:
    for fixed in port.fixed_ips:
        if ipaddress.ip_address(fixed.ip_address).version == version:
            return fixed.ip_address
    return None


def endpoint(port: Port, aliases: Sequence[str]) -> Endpoint:
    """How a container is created on ``port``'s network with its addresses and MAC."""
    return Endpoint(
        network_name=network_name(port.network_id),
        ipv4_address=_first_of(port, 4),
        ipv6_address=_first_of(port, 6),
        mac_address=port.mac_address or None,
        aliases=tuple(aliases),
    )


def aliases_of(spec: ContainerSpec) -> tuple[str, ...]:
    """The names other containers on its networks reach it by."""
    return tuple(dict.fromkeys(name for name in (spec.name, spec.hostname) if name))


class HostNetworkSteps:
    """Wraps the host side of the network driver for the agent's operations."""

    def __init__(self, host: str, networking: HostNetworking, control: ControlAPI) -> None:
        self.host = host
        self.networking = networking
        self.control = control
        #: Networks an operation is realising or plugging into right now: the reconcile
        #: loop leaves them alone (they may hold no container yet).
        self._using: Counter[str] = Counter()
        self._guard = threading.Lock()
        #: Held from reading the records' firewall to applying it, so that a pass that
        #: read before a change cannot apply after one that read after it.
        self._rules = threading.Lock()
        #: Two creates realising one network at once: the engine refuses the second
        #: one's bridge ("pool overlaps") before the first one's can be looked up.
        self._realising = threading.Lock()

    def _realise(self, network: HostNetwork) -> None:
        with self._realising:
            self.networking.realise(network)

    @contextlib.contextmanager
    def using(self, network_ids: Iterable[str]) -> Iterator[None]:
        """Keep the reconcile loop from removing ``network_ids`` while this block runs."""
        ids = list(dict.fromkeys(network_ids))
        with self._guard:
            self._using.update(ids)
        try:
            yield
        finally:
            with self._guard:
                self._using.subtract(ids)
                for network_id in ids:
                    if self._using[network_id] <= 0:
                        del self._using[network_id]

    def prepare(
        self, spec: ContainerSpec, networks: Sequence[HostNetwork], ports: Sequence[Port]
    ) -> ContainerSpec:
        """Realise the networks; ``spec`` made to create the container on the first port."""
        for network in networks:
            self._realise(network)
        if not ports:
            return spec
        return dataclasses.replace(spec, network=endpoint(ports[0], aliases_of(spec)))

    def plug_rest(
        self,
        container: str,
        spec: ContainerSpec,
        networks: Sequence[HostNetwork],
        ports: Sequence[Port],
    ) -> None:
        """Connect the created container to the networks of its other ports (before start)."""
        by_id = {network.network_id: network for network in networks}
        for port in ports[1:]:
            self.networking.plug(container, by_id[port.network_id], port, aliases_of(spec))

    def attach(
        self, container: str, network: HostNetwork, port: Port, aliases: Sequence[str]
    ) -> None:
        """Plug an existing container into one more network (realised here if need be)."""
        self._realise(network)
        self.networking.plug(container, network, port, aliases)

    def replug(self, container: str, spec: ContainerSpec, ports: Sequence[Port]) -> None:
        """Connect a rebuilt container to the networks of its other ports, realised before."""
        realised = {network.network_id for network in self.networking.realised()}
        for port in ports[1:]:
            if port.network_id in realised:
                network = HostNetwork(port.network_id, ())
                self.networking.plug(container, network, port, aliases_of(spec))

    def enforce(self, firewall: HostFirewall | None) -> None:
        if firewall is not None:
            with self._rules:
                self.networking.apply_firewall(firewall)

    def _apply_current(self, only_if_changed: bool = False) -> None:
        with self._rules:
            self.networking.apply_firewall(self.control.host_firewall(self.host), only_if_changed)

    def forget_rules_of(self, container: str) -> None:
        """Stop guarding a removed container's addresses, before its record and ports go.

        Applied from the records' view minus that container, so the rules are
        gone by the time the removal is reported (and anyone sees it done).
        """
        try:
            with self._rules:
                current = self.control.host_firewall(self.host)
                self.networking.apply_firewall(without_container(current, container), True)
        except DockyardError as exc:
            LOG.warning("could not drop the rules of %s on %s: %s", container, self.host, exc)

    def unplug(self, container: str, ports: Sequence[Port]) -> None:
        """Take a failed container off its networks; what cannot be undone is logged."""
        for network_id in dict.fromkeys(port.network_id for port in ports):
            try:
                self.networking.unplug(container, network_id)
            except DockyardError as exc:
                LOG.warning("could not unplug %s from %s: %s", container, network_id, exc)

    def refresh_firewall(self) -> None:
        """Enforce what the records say now (after ports of this host went away)."""
        try:
            self._apply_current(only_if_changed=True)
        except DockyardError as exc:
            LOG.warning("could not refresh the firewall of host %s: %s", self.host, exc)

    def rejoin(self) -> None:
        """Told that a member of one of this host's networks came or went elsewhere: the
        rules that name its groups take its address in (or out), and the networks are
        carried to the hosts that have members now, without waiting for the next
        reconcile pass."""
        try:
            self._apply_current(only_if_changed=True)
            networks = self.control.host_networks(self.host)
            with self._realising:
                self.networking.join_hosts(networks)
        except DockyardError as exc:
            LOG.warning("host %s keeps its tunnels until it reconciles: %s", self.host, exc)

    def reconcile(self) -> None:
        """Re-apply the firewall (when it changed, or was lost) and remove engine
        networks no record explains."""
        self._apply_current(only_if_changed=True)
        # Listed before the records are read: a network realised meanwhile is explained.
        realised_now = self.networking.realised()
        networks = self.control.host_networks(self.host)
        wanted = {network.network_id for network in networks}
        for realised in realised_now:
            if realised.network_id in wanted:
                continue
            # Held while removing, so an operation starting on it waits and realises it anew.
            with self._guard, contextlib.suppress(NetworkInUse):
                if self._using[realised.network_id]:
                    continue
                # Still holding a container: a record-less one goes first, then this.
                self.networking.remove(realised.network_id)
                LOG.info("removed engine network of %s (no record)", realised.network_id)
        # Restores tunnels lost to a restart and follows members coming and going elsewhere.
        with self._realising:
            self.networking.join_hosts(networks)
