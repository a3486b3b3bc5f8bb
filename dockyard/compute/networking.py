"""The agent's network steps: plug a new container in, unplug it, keep the firewall and
the engine networks of this host true to the records."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

from dockyard.domain.addresses import held_ports
from dockyard.domain.errors import DockyardError, NetworkInUse, NotFound
from dockyard.domain.firewall import HostFirewall, without_container
from dockyard.domain.models import Container, ContainerSpec
from dockyard.domain.networks import Endpoint, HostNetwork, Port
from dockyard.domain.recent import Recent
from dockyard.drivers.network.base import HostNetworking, network_name
from dockyard.rpc.api import ControlAPI

LOG = logging.getLogger(__name__)

#: Seconds a network this agent realised is taken to be still on the engine: a burst
#: of creates on one network inspects it once. Only the reconcile loop removes
#: Dockyard's networks (and forgets them here); one removed behind Dockyard's back
#: fails a create for at most this long.
REALISED_TTL = 10.0


class Meanwhile:
    """Runs one step in a thread of its own while the caller goes on (the rules while
    the engine creates the container); ``wait`` joins it and raises what it raised."""

    def __init__(self, step: Callable[[], None]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(step,), name="agent-rules", daemon=True
        )
        self._thread.start()

    def _run(self, step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as exc:  # handed to the waiting operation
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


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


def aliases_of(spec: ContainerSpec | Container) -> tuple[str, ...]:
    """The names other containers on its networks reach it by."""
    return tuple(dict.fromkeys(name for name in (spec.name, spec.hostname) if name))


def recorded_ports(record: Container) -> dict[str, Port]:
    """The ports a record's ``addresses`` hold, by network."""
    held = held_ports(record.project_id or "", record.addresses)
    return {h.port.network_id: h.port for h in held}


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
        self._realised: Recent[str] = Recent(REALISED_TTL, time.monotonic, limit=1024)

    def _realise(self, network: HostNetwork) -> None:
        if network.network_id in self._realised:
            return
        with self._realising:
            self.networking.realise(network)
        self._realised.add(network.network_id)

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

    def _host_network(self, network_id: str) -> HostNetwork:
        for network in self.control.host_networks(self.host):
            if network.network_id == network_id:
                return network
        raise NotFound(f"Network {network_id} has no port bound to host {self.host}.")

    def attach_recorded(self, container: str, record: Container, network_id: str) -> None:
        """Plug ``container`` into ``network_id`` with the port its record holds there,
        the rules in force first (it may be running). Fails with nothing plugged."""
        port = recorded_ports(record).get(network_id)
        if port is None:
            raise NotFound(f"Container {record.uuid} holds no port on network {network_id}.")
        network = self._host_network(network_id)
        self.apply_current()
        with self.using((network_id,)):
            try:
                self.attach(container, network, port, aliases_of(record))
            except Exception:
                self.unplug(container, (port,))
                raise

    def converge(self, container: str, record: Container) -> None:
        """Make the engine's attachments of ``container`` the ones its record holds (after
        an operation on them was interrupted): plug what is missing, unplug what no port
        explains, then enforce the records' rules."""
        wanted = recorded_ports(record)
        networks = {n.network_id: n for n in self.control.host_networks(self.host)}
        self.apply_current()
        with self.using(wanted):
            for network_id, port in wanted.items():
                if network_id in networks:
                    self.attach(container, networks[network_id], port, aliases_of(record))
            for realised in self.networking.realised():
                if realised.network_id not in wanted:
                    self.networking.unplug(container, realised.network_id)

    def replug(self, container: str, spec: ContainerSpec, ports: Sequence[Port]) -> None:
        """Connect a rebuilt container to the networks of its other ports, realised before."""
        realised = {network.network_id for network in self.networking.realised()}
        for port in ports[1:]:
            if port.network_id in realised:
                network = HostNetwork(port.network_id, ())
                self.networking.plug(container, network, port, aliases_of(spec))

    def enforce_meanwhile(self, firewall: HostFirewall | None) -> Meanwhile:
        """Start enforcing ``firewall`` in the background (``wait`` before the start)."""
        return Meanwhile(lambda: self.enforce(firewall))

    def enforce(self, firewall: HostFirewall | None) -> None:
        if firewall is not None:
            with self._rules:
                self.networking.apply_firewall(firewall)

    def apply_current(self, only_if_changed: bool = True) -> None:
        """Enforce what the records say now; raises when the kernel refuses."""
        self._apply_current(only_if_changed)

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
                self._realised.forget(realised.network_id)
                self.networking.remove(realised.network_id)
                LOG.info("removed engine network of %s (no record)", realised.network_id)
        # Restores tunnels lost to a restart and follows members coming and going elsewhere.
        with self._realising:
            self.networking.join_hosts(networks)
