"""The network interfaces: records and addresses (control side), wiring on a host (host side).

A network backend has two halves, because agents hold no database access:

- ``NetworkDriver`` runs beside the database (API, conductor). It resolves
  what a create asks for, makes and releases ports (addresses, MACs) and says
  what each host must enforce. The ``local`` backend keeps Dockyard records;
  a ``neutron`` backend would call the cloud's Neutron with a service user.
- ``HostNetworking`` runs in the agent of each host. It realises networks as
  engine networks, plugs containers into them and enforces security groups in
  the kernel. Both backends use the same host side: Neutron networks are
  mirrored by a per-host bridge, as the local ones are.

Every value crossing between the halves is a ``domain`` dataclass, so it can
travel in an RPC message. Errors are domain errors: ``InvalidInput`` (400),
``Forbidden`` (403), ``NotFound`` subclasses (404), ``Conflict`` subclasses
(409), ``Unavailable`` (503) when the backend cannot be reached, ``DriverError``
(502) for any other backend failure.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dockyard.domain.firewall import HostFirewall
from dockyard.domain.networks import Attachment, HostNetwork, NetRequest, Network, Port
from dockyard.domain.security_groups import Protocol, SecurityGroup


@dataclass(frozen=True)
class Caller:
    """Who asks: their project, and whether they may attach unshared external networks
    (policy ``network:attach_external_network``, decided by the API)."""

    project_id: str
    may_attach_external: bool = False


@dataclass(frozen=True)
class RealisedNetwork:
    """A network as one host's engine holds it."""

    network_id: str
    #: The engine's id for it (a Docker network id).
    runtime_id: str
    cidrs: tuple[str, ...]
    #: Runtime ids of the containers attached to it.
    containers: tuple[str, ...] = ()


class NetworkDriver(abc.ABC):
    """Networks, ports, addresses and security groups as records: the control side."""

    @abc.abstractmethod
    def resolve(self, caller: Caller, requests: Sequence[NetRequest]) -> tuple[Attachment, ...]:
        """Resolve a create's ``nets`` (or an attach's arguments) before anything is made.

        Each network or port is found by id or by name in the caller's scope
        (their project, plus shared networks): missing → ``NetworkNotFound`` /
        ``PortNotFound``; a name that matches several → ``Conflict``. A port must
        belong to the caller's project and be unbound (else ``InvalidInput``). A
        fixed IP must be inside one of the network's subnets
        (``InvalidIpForSubnet``) and free (``IpAddressAlreadyAllocated``), checked
        here and again when the port is made. An unshared external network
        without ``may_attach_external`` → ``Forbidden``. The same network twice →
        ``InvalidInput``.

        No requests → one attachment to the project's network, made on first
        use (the only thing this method may create; creating it twice
        concurrently yields one network).
        """

    @abc.abstractmethod
    def resolve_security_groups(
        self, caller: Caller, names_or_ids: Sequence[str]
    ) -> tuple[SecurityGroup, ...]:
        """The caller's groups by id or name, de-duplicated, in the order asked.

        Missing → ``InvalidInput`` (Zun answers 400 ``invalid-value``); a name
        that matches several → ``Conflict``. No names → the project's ``default``
        group, made on first use with Neutron's rules (all egress, ingress from
        members of the group).
        """

    @abc.abstractmethod
    def make_ports(
        self,
        container_id: str,
        host: str,
        attachments: Sequence[Attachment],
        security_group_ids: Sequence[str],
    ) -> tuple[Port, ...]:
        """Make (or bind, for a user's port) one port per attachment, in order.

        New ports get their addresses (the asked-for fixed IPs, else the next
        free ones), a MAC, ``device_id`` = ``container_id``, Dockyard's
        ``device_owner``, ``host`` and the security groups; a user's port is
        bound to the container and host and keeps its own addresses and groups.
        All or nothing: when one port cannot be made, those made by this call
        are removed and the user's ports unbound before the error is raised.
        Idempotent per (container, network): a retry returns the same ports.
        """

    @abc.abstractmethod
    def release_ports(self, container_id: str, ports: Sequence[Port]) -> None:
        """Give back what ``make_ports`` took for ``container_id``.

        Ports Dockyard made are deleted and their addresses freed; a user's port
        (``preserve_on_delete``) is unbound and kept. Ports already gone are
        skipped: releasing twice succeeds.
        """

    @abc.abstractmethod
    def make_exposed_ports_group(
        self,
        container_id: str,
        container_name: str,
        project_id: str,
        ports: Sequence[tuple[int, Protocol]],
    ) -> SecurityGroup:
        """Make the container's own group for its ``exposed_ports`` (Zun's behaviour).

        A real group of the container's project, named after the container, that
        allows all egress and ingress from anywhere to exactly ``ports``; the
        container's ports get it as their only group. Idempotent per container.
        Removed by ``release_exposed_ports_group``.
        """

    @abc.abstractmethod
    def release_exposed_ports_group(self, container_id: str) -> None:
        """Remove the container's own group, once its ports are released.

        None (or already gone) → success; still in use (a port kept it) → left,
        logged. Called on every path that ends a container or a failed create.
        """

    @abc.abstractmethod
    def networks_for_host(self, host: str) -> tuple[HostNetwork, ...]:
        """Every network that has a port bound to ``host``, with its subnets.

        The host's agent realises exactly these; its reconcile loop removes the
        engine networks of its installation that are not among them.
        """

    def host_network(self, host: str, attachment: Attachment) -> HostNetwork:
        """One attached network as ``host`` realises it (as ``networks_for_host`` gives
        it): a backend with tunnels adds the VXLAN id and the other hosts."""
        network = attachment.network
        return HostNetwork(network.id, attachment.subnets, network.mtu)

    @abc.abstractmethod
    def find_network(self, network_id: str, visible_to: str | None) -> Network:
        """The network with id ``network_id`` that ``/v1/networks`` wraps: one of
        ``visible_to``'s (their own, shared or external) or, with None, any project's;
        else ``NetworkNotFound``. Under a backend that realises networks on hosts from
        their subnets, one without a subnet → ``InvalidInput``."""

    @abc.abstractmethod
    def container_ports(self, network_id: str) -> int:
        """How many container ports (Dockyard's ``device_owner``, bound) the network has:
        ``DELETE /v1/networks`` is refused while there are any."""

    def member_hosts(self, network_ids: Collection[str]) -> set[str]:
        """The hosts that carry any of ``network_ids`` to other hosts (they have a port on
        it and a tunnel address): told when a member comes or goes. A backend without
        tunnels has none."""
        return set()

    @abc.abstractmethod
    def firewall_for_host(self, host: str) -> HostFirewall:
        """What ``host`` must enforce: its guarded ports, their rules, remote members.

        Called again after any change to a rule, a group's members or a port on
        the host; the result replaces what the host enforced before.
        """


class HostNetworking(abc.ABC):
    """Networks on one host's engine and their packet filtering: the host side.

    Everything it makes is labelled (engine objects) or named (kernel tables)
    after its installation and host, and it never changes anything else.
    """

    @abc.abstractmethod
    def realise(self, network: HostNetwork) -> str:
        """Make the engine network for ``network`` (subnets' CIDRs and gateways); its id.

        Idempotent: an existing one of this installation and host is reused when
        its subnets match, else ``Conflict``; a name held by anything not
        Dockyard's → ``Conflict``. A subnet the engine refuses (it overlaps one of
        the engine's other networks) → ``Conflict`` naming it.
        """

    @abc.abstractmethod
    def plug(
        self, container: str, network: HostNetwork, port: Port, aliases: Sequence[str] = ()
    ) -> None:
        """Connect the container (engine name or id) to ``network`` with ``port``'s addresses.

        ``aliases`` are extra names the engine's DNS answers on that network
        (the container's name is always one). Idempotent: already connected with
        the same addresses → success; with others → ``Conflict``. Missing
        container → ``NotFound``; network not realised → ``NotFound``.
        """

    @abc.abstractmethod
    def unplug(self, container: str, network_id: str) -> None:
        """Disconnect the container from the network. Not connected, or either gone → success."""

    @abc.abstractmethod
    def remove(self, network_id: str) -> None:
        """Remove the engine network if it is Dockyard's (this installation and host).

        Still holding containers → ``NetworkInUse``; absent → success; held by
        anything else under that name → left alone (success).
        """

    @abc.abstractmethod
    def realised(self) -> tuple[RealisedNetwork, ...]:
        """The engine networks of this installation and host (for the reconcile loop)."""

    @abc.abstractmethod
    def apply_firewall(self, firewall: HostFirewall, only_if_changed: bool = False) -> None:
        """Enforce exactly ``firewall`` on this host, replacing what was enforced before.

        Atomic per address family, idempotent, and quick enough to run on every
        change (one rule change with 200 guarded containers: well under 2 s).
        ``HostFirewall()`` removes every rule of this installation and host.
        ``only_if_changed``: the kernel may be left alone when it already
        enforces exactly this (the periodic pass; rules lost are still restored).
        """

    @property
    def tunnel_address(self) -> str | None:
        """This host's underlay address for networks that span hosts; None: it has none."""
        return None

    def join_hosts(self, networks: Sequence[HostNetwork]) -> None:  # noqa: B027 - optional
        """Carry ``networks`` (all this host must hold) to the other hosts with members, and
        stop carrying any other; a backend without tunnels keeps each host's own."""


def network_name(network_id: str) -> str:
    """The engine network's name for a Dockyard network (unique on an engine)."""
    return f"dockyard-{network_id}"


def realised_on(
    driver: NetworkDriver, host: str, attachments: Sequence[Attachment]
) -> tuple[HostNetwork, ...]:
    """The networks of ``attachments`` as ``host`` must realise them, once its ports are
    made: with their tunnel (VXLAN id, the other hosts) where the driver gives one."""
    return tuple(driver.host_network(host, attachment) for attachment in attachments)
