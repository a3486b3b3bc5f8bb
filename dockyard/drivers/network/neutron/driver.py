"""The control side of the ``neutron`` network driver: the cloud's Neutron keeps the records.

Dockyard's service user (with the ``service`` or ``admin`` role: it sets
``binding:host_id``, acts for the caller's project and deletes ``compute:`` ports)
resolves ``nets`` in the caller's scope, makes one port per network before the
container exists (``device_id`` = the container, ``device_owner`` =
``compute:dockyard``, ``binding:host_id`` = the host, ``description`` naming the
installation) and reads back its addresses and MAC. With no Neutron agent the port
stays ``DOWN``; nothing waits for it. The hosts mirror each network with a bridge
and enforce the ports' security groups themselves (the local driver's host side).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Final

from dockyard.domain.errors import (
    Conflict,
    DockyardError,
    Forbidden,
    InvalidInput,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    NetworkNotFound,
    NotFound,
)
from dockyard.domain.firewall import HostFirewall, host_firewall
from dockyard.domain.networks import (
    DEVICE_OWNER,
    Attachment,
    HostNetwork,
    NetRequest,
    Network,
    Port,
    Subnet,
    parse_address,
    subnet_of,
    usable_port,
)
from dockyard.domain.security_groups import (
    DEFAULT_GROUP_NAME,
    Protocol,
    SecurityGroup,
    exposed_ports_rules,
    one_group,
    resolve_groups,
)
from dockyard.drivers.network.base import Caller, NetworkDriver
from dockyard.drivers.network.neutron import convert
from dockyard.drivers.network.neutron.client import NeutronApi

LOG = logging.getLogger(__name__)

#: Neutron's ``description`` of the ports an installation makes starts with this.
PORT_MARK: Final = "dockyard:"
#: Key of ``binding:profile`` naming the installation that bound a port to a container.
PROFILE_KEY: Final = "dockyard_installation"


def port_mark(installation: str) -> str:
    """The ``description`` of the ports this installation makes (how it knows its own)."""
    return f"{PORT_MARK}{installation}"


def _visible(record: dict[str, Any], project_id: str) -> bool:
    owner = record.get("project_id") or record.get("tenant_id")
    return bool(owner == project_id or record.get("shared") or record.get("router:external"))


class NeutronNetworkDriver(NetworkDriver):
    def __init__(
        self,
        api: NeutronApi,
        installation: str,
        project_network_name: str = "private",
        project_network_pool: str = "10.100.0.0/16",
        project_network_prefix: int = 24,
    ) -> None:
        self.api = api
        self.installation = installation
        self.mark = port_mark(installation)
        self.project_network_name = project_network_name
        self.pool = ipaddress.ip_network(project_network_pool)
        self.prefix = project_network_prefix
        self._project_lock = threading.Lock()

    # networks

    def _networks(self, **query: str | Sequence[str]) -> list[dict[str, Any]]:
        return list(self.api.get("/networks", query)["networks"])

    def _subnets(self, network_ids: Collection[str]) -> tuple[Subnet, ...]:
        if not network_ids:
            return ()
        found = self.api.get("/subnets", {"network_id": sorted(network_ids)})["subnets"]
        return tuple(convert.subnet(record) for record in found)

    def _find_network(self, caller: Caller, ident: str) -> Network:
        found = [r for r in self._networks(id=ident) if _visible(r, caller.project_id)]
        if not found:
            found = [r for r in self._networks(name=ident) if _visible(r, caller.project_id)]
        if not found:
            raise NetworkNotFound(f"Network {ident} could not be found.")
        if len(found) > 1:
            raise Conflict(f"Multiple networks exist with name {ident}. Please use the id.")
        return convert.network(found[0])

    def find_network(self, network_id: str, visible_to: str | None) -> Network:
        found = [
            r
            for r in self._networks(id=network_id)
            if visible_to is None or _visible(r, visible_to)
        ]
        if not found:
            raise NetworkNotFound(f"Network {network_id} could not be found.")
        network = convert.network(found[0])
        if not self._subnets([network.id]):
            raise InvalidInput(
                f"Network {network_id} has no subnet to take addresses from.",
                field="neutron_net_id",
            )
        return network

    def container_ports(self, network_id: str) -> int:
        query = {"network_id": network_id, "device_owner": DEVICE_OWNER}
        return sum(1 for r in self.api.get("/ports", query)["ports"] if r.get("device_id"))

    def project_network(self, project_id: str) -> tuple[Network, tuple[Subnet, ...]]:
        """The project's network named ``project_network_name`` in Neutron and its subnets;
        made when the project has none, given a subnet when it has none (a make that
        was cut short), the subnet carved from the pool clear of every subnet in Neutron."""
        with self._project_lock:
            network = self._own_project_network(project_id)
            if network is None:
                network = self._make_project_network(project_id)
            subnets = self._subnets([network.id])
            if not subnets:
                subnets = (self._add_subnet(network),)
            return network, subnets

    def _own_project_network(self, project_id: str) -> Network | None:
        found = self._networks(project_id=project_id, name=self.project_network_name)
        if not found:
            return None
        # Two API processes that raced each made one: all use the oldest.
        oldest = min(found, key=lambda r: (str(r.get("created_at") or ""), str(r["id"])))
        return convert.network(oldest)

    def _make_project_network(self, project_id: str) -> Network:
        made = self.api.post(
            "/networks",
            {"network": {"name": self.project_network_name, "project_id": project_id}},
        )["network"]
        chosen = self._own_project_network(project_id)
        if chosen is not None and chosen.id != made["id"]:
            self.api.delete(f"/networks/{made['id']}")
            return chosen
        return convert.network(made)

    def _add_subnet(self, network: Network) -> Subnet:
        taken = [
            ipaddress.ip_network(record["cidr"])
            for record in self.api.get("/subnets", {"ip_version": "4"})["subnets"]
        ]
        for candidate in self.pool.subnets(new_prefix=self.prefix):
            if any(candidate.overlaps(other) for other in taken):
                continue
            made = self.api.post(
                "/subnets",
                {
                    "subnet": {
                        "network_id": network.id,
                        "project_id": network.project_id,
                        "cidr": str(candidate),
                        "ip_version": 4,
                        "name": f"{self.project_network_name}-subnet",
                    }
                },
            )["subnet"]
            return convert.subnet(made)
        raise IpAddressGenerationFailure(
            f"No /{self.prefix} is left in the project network pool {self.pool} "
            "([network] project_network_pool) that no subnet in Neutron overlaps."
        )

    # NetworkDriver: resolving

    def resolve(self, caller: Caller, requests: Sequence[NetRequest]) -> tuple[Attachment, ...]:
        if not requests:
            network, subnets = self.project_network(caller.project_id)
            return (Attachment(network, subnets, project_id=caller.project_id),)
        attachments = [self._resolve_one(caller, request) for request in requests]
        seen: set[str] = set()
        for attachment in attachments:
            if attachment.network.id in seen:
                raise InvalidInput(
                    f"Network {attachment.network.id} is requested more than once.",
                    field="nets",
                )
            seen.add(attachment.network.id)
        return tuple(attachments)

    def _resolve_one(self, caller: Caller, request: NetRequest) -> Attachment:
        if request.port is not None:
            port = self._find_port(caller, request.port)
            found = self._networks(id=port.network_id)
            if not found:
                raise NetworkNotFound(f"Network {port.network_id} could not be found.")
            network = convert.network(found[0])
            return Attachment(
                network,
                self._subnets([network.id]),
                port=port,
                preserve_on_delete=True,
                project_id=caller.project_id,
            )
        network = self._find_network(caller, str(request.network))
        if network.external and not network.shared and not caller.may_attach_external:
            raise Forbidden(f"Attaching to the external network {network.id} is not allowed.")
        subnets = self._subnets([network.id])
        if not subnets:
            raise InvalidInput(
                f"Network {network.id} has no subnet to take addresses from.", field="nets"
            )
        fixed = []
        for text in (request.v4_fixed_ip, request.v6_fixed_ip):
            if text is not None:
                fixed.append(self._free_address(network, subnets, text))
        return Attachment(network, subnets, fixed_ips=tuple(fixed), project_id=caller.project_id)

    def _free_address(self, network: Network, subnets: Sequence[Subnet], text: str) -> str:
        """``text`` if it is an address of one of the subnets that no port holds (checked
        again by Neutron when the port is made)."""
        address = parse_address(text, "fixed_ip")
        subnet = subnet_of(subnets, address)
        if subnet is None:
            raise InvalidIpForSubnet(
                f"IP address {text} is not inside any subnet of network {network.id}."
            )
        holders = self.api.get(
            "/ports", {"network_id": network.id, "fixed_ips": f"ip_address={address}"}
        )["ports"]
        if holders or (subnet.gateway_ip and parse_address(subnet.gateway_ip) == address):
            raise IpAddressAlreadyAllocated(
                f"IP address {address} already allocated in subnet {subnet.id}.",
                subnet_id=subnet.id,
                ip_address=str(address),
            )
        return str(address)

    def _find_port(self, caller: Caller, ident: str) -> Port:
        own = [
            r
            for r in self.api.get("/ports", {"id": ident})["ports"]
            if r.get("project_id") == caller.project_id
        ]
        if not own:
            own = [
                r
                for r in self.api.get("/ports", {"name": ident})["ports"]
                if r.get("project_id") == caller.project_id
            ]
        return usable_port([convert.port(r, preserved=True) for r in own], ident)

    def resolve_security_groups(
        self, caller: Caller, names_or_ids: Sequence[str]
    ) -> tuple[SecurityGroup, ...]:
        return resolve_groups(
            names_or_ids,
            lambda: self._default_group(caller.project_id),
            lambda ident: self._find_group(caller.project_id, ident),
        )

    def _groups(self, project_id: str, **query: str) -> list[SecurityGroup]:
        found = self.api.get("/security-groups", {"project_id": project_id, **query})
        return [convert.security_group(r) for r in found["security_groups"]]

    def _default_group(self, project_id: str) -> SecurityGroup:
        # Listing a project's groups makes Neutron create its ``default`` one if missing.
        found = self._groups(project_id, name=DEFAULT_GROUP_NAME)
        if not found:
            raise NotFound(f"Neutron has no default security group for project {project_id}.")
        return found[0]

    def _find_group(self, project_id: str, ident: str) -> SecurityGroup:
        found = self._groups(project_id, id=ident) or self._groups(project_id, name=ident)
        return one_group(found, ident)

    def _exposed_mark(self, container_id: str) -> str:
        """The ``description`` of a container's own ``exposed_ports`` group: Neutron picks
        the id, so the group is found again by this."""
        return f"{self.mark} exposed_ports of container {container_id}"

    def make_exposed_ports_group(
        self,
        container_id: str,
        container_name: str,
        project_id: str,
        ports: Sequence[tuple[int, Protocol]],
    ) -> SecurityGroup:
        mark = self._exposed_mark(container_id)
        found = [g for g in self._groups(project_id, description=mark) if g.description == mark]
        if found:
            return found[0]
        # A new Neutron group allows all egress already; the ingress rules follow.
        made = self.api.post(
            "/security-groups",
            {
                "security_group": {
                    "name": f"{container_name}-exposed-ports",
                    "description": mark,
                    "project_id": project_id,
                }
            },
        )["security_group"]
        group_id = str(made["id"])
        for rule in exposed_ports_rules(group_id, project_id, ports, lambda: ""):
            self.api.post(
                "/security-group-rules",
                {
                    "security_group_rule": {
                        "security_group_id": group_id,
                        "direction": str(rule.direction),
                        "ethertype": str(rule.ethertype),
                        "protocol": str(rule.protocol),
                        "port_range_min": rule.port_range_min,
                        "port_range_max": rule.port_range_max,
                        "remote_ip_prefix": rule.remote_ip_prefix,
                    }
                },
            )
        return convert.security_group(
            self.api.get(f"/security-groups/{group_id}")["security_group"]
        )

    def release_exposed_ports_group(self, container_id: str) -> None:
        mark = self._exposed_mark(container_id)
        listed = self.api.get("/security-groups", {"description": mark})["security_groups"]
        for record in listed:
            if record.get("description") != mark:
                continue
            try:
                self.api.delete(f"/security-groups/{record['id']}")
            except Conflict as exc:
                LOG.warning("kept the exposed_ports group of %s: %s", container_id, exc)

    # NetworkDriver: ports

    def _convert(self, record: dict[str, Any]) -> Port:
        return convert.port(record, preserved=record.get("description") != self.mark)

    def make_ports(
        self,
        container_id: str,
        host: str,
        attachments: Sequence[Attachment],
        security_group_ids: Sequence[str],
    ) -> tuple[Port, ...]:
        made: list[Port] = []
        try:
            for attachment in attachments:
                made.append(self._make_port(container_id, host, attachment, security_group_ids))
        except Exception:
            self.release_ports(container_id, made)
            self._release_unanswered(container_id, {p.id for p in made})
            raise
        return tuple(made)

    def _release_unanswered(self, container_id: str, released: Collection[str]) -> None:
        """Delete ports Neutron made for ``container_id`` though the call that asked for
        them failed (it timed out while Neutron went on). Best effort: the sweep removes
        what is still left once the container's record is gone."""
        try:
            found = self.api.get("/ports", {"device_id": container_id, "description": self.mark})
            for record in found["ports"]:
                if record["id"] not in released:
                    self.api.delete(f"/ports/{record['id']}")
        except DockyardError as exc:
            LOG.warning("ports of %s are left for the sweep: %s", container_id, exc)

    def _make_port(
        self,
        container_id: str,
        host: str,
        attachment: Attachment,
        security_group_ids: Sequence[str],
    ) -> Port:
        binding = {
            "device_id": container_id,
            "device_owner": DEVICE_OWNER,
            "binding:host_id": host,
            # How this installation knows a user's port it bound (its description is the
            # user's): Neutron lists no port by it, so the listing is filtered here.
            "binding:profile": {PROFILE_KEY: self.installation},
        }
        if attachment.port is not None:
            current = self.api.get(f"/ports/{attachment.port.id}")["port"]
            if current.get("device_id") not in ("", None, container_id):
                raise InvalidInput(
                    f"Port {attachment.port.id} is in use by device {current['device_id']}; "
                    "it cannot be used.",
                    field="nets",
                )
            record = self.api.put(f"/ports/{attachment.port.id}", {"port": binding})["port"]
            return convert.port(record, preserved=True)
        existing = self.api.get(
            "/ports",
            {
                "device_id": container_id,
                "network_id": attachment.network.id,
                "description": self.mark,
            },
        )["ports"]
        if existing:
            return self._convert(existing[0])
        body: dict[str, Any] = {
            **binding,
            "network_id": attachment.network.id,
            "project_id": attachment.project_id or attachment.network.project_id,
            "name": f"dockyard-{container_id[:8]}",
            "description": self.mark,
            "security_groups": list(security_group_ids),
        }
        if attachment.fixed_ips:
            body["fixed_ips"] = [{"ip_address": address} for address in attachment.fixed_ips]
        return self._convert(self.api.post("/ports", {"port": body})["port"])

    def release_ports(self, container_id: str, ports: Sequence[Port]) -> None:
        for port in ports:
            try:
                current = self.api.get(f"/ports/{port.id}")["port"]
            except NotFound:
                continue
            if current.get("device_id") not in ("", None, container_id):
                continue  # someone else's by now
            if current.get("description") == self.mark:
                self.api.delete(f"/ports/{port.id}")
            elif current.get("device_id"):
                self.api.put(
                    f"/ports/{port.id}",
                    {
                        "port": {
                            "device_id": "",
                            "device_owner": "",
                            "binding:host_id": "",
                            "binding:profile": {},
                        }
                    },
                )

    def set_port_groups(self, port_ids: Sequence[str], group_ids: Sequence[str]) -> None:
        """Give the ports exactly these groups (``add_security_group`` and friends); the
        hosts follow within a poll."""
        for port_id in port_ids:
            self.api.put(f"/ports/{port_id}", {"port": {"security_groups": list(group_ids)}})

    # NetworkDriver: what hosts realise and enforce

    def installation_ports(self, host: str | None = None) -> list[Port]:
        """Ports bound to containers of this installation (on ``host``, when given)."""
        query: dict[str, str] = {"device_owner": DEVICE_OWNER}
        if host is not None:
            query["binding:host_id"] = host
        found = self.api.get("/ports", query)["ports"]
        return [self._convert(r) for r in found if r.get("device_id") and self._ours(r)]

    def _ours(self, record: dict[str, Any]) -> bool:
        profile = record.get("binding:profile") or {}
        return bool(
            record.get("description") == self.mark
            or (isinstance(profile, dict) and profile.get(PROFILE_KEY) == self.installation)
        )

    def networks_for_host(self, host: str) -> tuple[HostNetwork, ...]:
        ids = sorted({port.network_id for port in self.installation_ports(host)})
        if not ids:
            return ()
        networks = {r["id"]: convert.network(r) for r in self._networks(id=ids)}
        subnets = self._subnets(ids)
        return tuple(
            HostNetwork(
                network_id, tuple(s for s in subnets if s.network_id == network_id), net.mtu
            )
            for network_id in ids
            if (net := networks.get(network_id)) is not None
        )

    def firewall_for_host(self, host: str) -> HostFirewall:
        ports = self.installation_ports(host)
        groups = self.groups_by_id(group_ids_of(ports))
        members = self.members(remote_groups(groups.values()))
        return host_firewall(ports, groups, members)

    def groups_by_id(self, group_ids: Collection[str]) -> dict[str, SecurityGroup]:
        """The groups with their rules (one call)."""
        if not group_ids:
            return {}
        found = self.api.get("/security-groups", {"id": sorted(group_ids)})["security_groups"]
        return {g.id: g for g in map(convert.security_group, found)}

    def members(self, group_ids: Collection[str]) -> list[Port]:
        """Every port in any of the groups, Dockyard's or not (one call)."""
        if not group_ids:
            return []
        found = self.api.get("/ports", {"security_groups": sorted(group_ids)})["ports"]
        return [convert.port(r, preserved=False) for r in found]

    def orphan_ports(self, live: Callable[[Iterable[str]], Collection[str]]) -> list[Port]:
        """Ports this installation made or bound whose container ``live`` does not know."""
        ports = self.installation_ports()
        known = set(live([p.device_id for p in ports if p.device_id]))
        return [p for p in ports if p.device_id not in known]


def group_ids_of(ports: Iterable[Port]) -> set[str]:
    return {group for port in ports for group in port.security_group_ids}


def remote_groups(groups: Iterable[SecurityGroup]) -> set[str]:
    """Groups whose members the rules of ``groups`` name as their remote end."""
    return {rule.remote_group_id for g in groups for rule in g.rules if rule.remote_group_id}


def firewalls_of(
    ports: Iterable[Port], groups: Mapping[str, SecurityGroup], members: Iterable[Port]
) -> dict[str, HostFirewall]:
    """Each host's firewall, for the installation's ``ports`` (every host's)."""
    by_host: dict[str, list[Port]] = {}
    for port in ports:
        if port.host:
            by_host.setdefault(port.host, []).append(port)
    members = list(members)
    return {host: host_firewall(own, groups, members) for host, own in by_host.items()}


def digest(firewall: HostFirewall) -> str:
    """A short fingerprint of what a host enforces (to push only what changed)."""
    return hashlib.sha256(repr(firewall).encode()).hexdigest()[:16]
