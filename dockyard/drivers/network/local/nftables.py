"""Security groups as an nftables table: the pure half (names and the ``nft -f`` script).

One table per (installation, host), family ``inet`` (IPv4 and IPv6 at once):

- a base chain on the ``forward`` hook, policy accept: replies (conntrack
  ESTABLISHED,RELATED) and IPv6 neighbour discovery pass; then a verdict map
  sends a packet from a guarded address to that port's egress chain, and
  (on return) one to a guarded address to its ingress chain;
- a base chain on the ``output`` hook, the same but ingress only: what the host
  itself sends to a container (the engine's ``docker-proxy`` relaying a
  published port, or a hairpin-NATed connection, which leave the host and
  never cross ``forward``) passes the container's ingress rules too;
- per port, ``o_<hex>`` and ``i_<hex>``: one ``return`` per allowing rule, then
  ``drop``;
- per remote group and family, a set of member addresses, so a rule naming a
  group is one rule however many members it has.

Why not chains hung off ``DOCKER-USER``: read back with ``iptables-save``, 200
containers of one ``default`` group (40,000 rules, one per member per port)
took 3–6.6 s per change here; this table is replaced whole in 0.1–0.2 s. It
coexists with Docker's own rules (iptables-nft on Debian 12, or legacy
xtables): a packet passes every base chain on the hook, and ``accept`` in this
table only ends this table, while ``drop`` is final. So Dockyard can only take
traffic away: the engine's isolation between networks still applies to what
Dockyard allows. Several agents of one installation may share a kernel (test
machines): the host is part of the table's name, so an agent never replaces
another's table.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.security_groups import Direction, Protocol, SecurityGroupRule

TABLE_PREFIX: Final = "dockyard_"
#: Before the ``filter`` priority Docker's iptables-nft rules use: ours drop first.
_PRIORITY: Final = "filter - 10"
_NDP: Final = "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert"
_UNQUOTED: Final = re.compile(r"[^A-Za-z0-9 ._:@/-]")
_FAMILY: Final = {4: ("ip", "ipv4", "ipv4_addr"), 6: ("ip6", "ipv6", "ipv6_addr")}
_BOTH_WAYS: Final = ("saddr", "daddr")
_TO_GUARDED: Final = ("daddr",)


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class TableNames:
    """The names inside one (installation, host)'s table."""

    installation: str
    host: str

    @property
    def table(self) -> str:
        return TABLE_PREFIX + _hex(f"{self.installation}\n{self.host}", 12)

    def ingress(self, port_id: str) -> str:
        return f"i_{_hex(port_id, 12)}"

    def egress(self, port_id: str) -> str:
        return f"o_{_hex(port_id, 12)}"

    def members(self, group_id: str, version: int) -> str:
        return f"g_{_hex(group_id, 12)}_{version}"


def _versions(port: GuardedPort) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {4: [], 6: []}
    for text in port.addresses:
        address = ipaddress.ip_address(text)
        found[address.version].append(str(address))
    return found


def _protocol_match(rule: SecurityGroupRule, version: int) -> str:
    protocol = rule.protocol
    if protocol is None:
        return ""
    low, high = rule.port_range_min, rule.port_range_max
    if protocol is Protocol.ICMP:
        name = "icmp" if version == 4 else "icmpv6"
        if low is None:
            return "meta l4proto " + ("icmp" if version == 4 else "ipv6-icmp")
        return f"{name} type {low}" + ("" if high is None else f" {name} code {high}")
    if low is None:
        return f"meta l4proto {protocol.value}"
    ports = str(low) if low == high else f"{low}-{high}"
    return f"{protocol.value} dport {ports}"


def _remote_match(rule: SecurityGroupRule, names: TableNames, version: int) -> str:
    family = _FAMILY[version][0]
    side = "saddr" if rule.direction is Direction.INGRESS else "daddr"
    if rule.remote_group_id is not None:
        return f"{family} {side} @{names.members(rule.remote_group_id, version)}"
    prefix = rule.remote_ip_prefix
    if prefix is None or ipaddress.ip_network(prefix).prefixlen == 0:
        return ""
    return f"{family} {side} {prefix}"


def _rule(rule: SecurityGroupRule, names: TableNames) -> str:
    version = rule.ethertype.version
    parts = [
        f"meta nfproto {_FAMILY[version][1]}",
        _remote_match(rule, names, version),
        _protocol_match(rule, version),
        "return",
    ]
    return " ".join(part for part in parts if part)


def _port_chain(port: GuardedPort, direction: Direction, names: TableNames) -> list[str]:
    rules = [_rule(rule, names) for rule in port.rules if rule.direction is direction]
    return [*dict.fromkeys(rules), "drop"]


def _vmap(family: str, side: str, pairs: list[tuple[str, str]]) -> list[str]:
    if not pairs:
        return []
    entries = ", ".join(f"{address} : jump {chain}" for address, chain in pairs)
    return [f"{family} {side} vmap {{ {entries} }}"]


def _base_chain(
    firewall: HostFirewall, names: TableNames, hook: str, sides: tuple[str, ...]
) -> list[str]:
    lines = [
        f"type filter hook {hook} priority {_PRIORITY}; policy accept;",
        "ct state established,related accept",
        f"icmpv6 type {{ {_NDP} }} accept",
    ]
    jumps: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for port in firewall.ports:
        for version, addresses in _versions(port).items():
            for address in addresses:
                jumps.setdefault((version, "saddr"), []).append(
                    (address, names.egress(port.port_id))
                )
                jumps.setdefault((version, "daddr"), []).append(
                    (address, names.ingress(port.port_id))
                )
    for side in sides:  # every egress check before any ingress check
        for version in (4, 6):
            lines += _vmap(_FAMILY[version][0], side, jumps.get((version, side), []))
    return lines


def _sets(firewall: HostFirewall, names: TableNames) -> list[str]:
    wanted = sorted(
        {
            rule.remote_group_id
            for port in firewall.ports
            for rule in port.rules
            if rule.remote_group_id
        }
    )
    lines = []
    for group_id in wanted:
        members = [ipaddress.ip_address(a) for a in firewall.members.get(group_id, ())]
        for version in (4, 6):
            found = sorted({str(a) for a in members if a.version == version})
            elements = f" elements = {{ {', '.join(found)} }};" if found else ""
            lines.append(
                f"set {names.members(group_id, version)} "
                f"{{ type {_FAMILY[version][2]};{elements} }}"
            )
    return lines


def _block(header: str, body: list[str], indent: str) -> list[str]:
    return [f"{indent}{header} {{", *(f"{indent}    {line}" for line in body), f"{indent}}}"]


def render(firewall: HostFirewall, names: TableNames) -> str:
    """The ``nft -f`` script that makes the table enforce exactly ``firewall``.

    Atomic: the table is created if missing, deleted and made again in one
    transaction. Nothing guarded → the script only removes the table.
    """
    lines = [f"table inet {names.table} {{}}", f"delete table inet {names.table}"]
    if not firewall.ports:
        return "\n".join(lines) + "\n"
    about = _UNQUOTED.sub("_", f"{names.installation} on {names.host}")
    body = [f'comment "Dockyard security groups of {about}"']
    body += _sets(firewall, names)
    body += _block("chain forward", _base_chain(firewall, names, "forward", _BOTH_WAYS), "")
    body += _block("chain output", _base_chain(firewall, names, "output", _TO_GUARDED), "")
    for port in firewall.ports:
        body += _block(
            f"chain {names.egress(port.port_id)}", _port_chain(port, Direction.EGRESS, names), ""
        )
        body += _block(
            f"chain {names.ingress(port.port_id)}", _port_chain(port, Direction.INGRESS, names), ""
        )
    lines += _block(f"table inet {names.table}", body, "")
    return "\n".join(lines) + "\n"
