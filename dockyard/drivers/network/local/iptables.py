"""Security groups as iptables rules: the pure half (render, read back, diff).

Layout, in the ``filter`` table of each family:

- one chain per (installation, host), ``DY-<8 hex>``, entered by a single jump
  from ``DOCKER-USER`` (from ``FORWARD`` where the engine made no
  ``DOCKER-USER``, as Docker 20.10 does for IPv6). Several agents of one
  installation may share a kernel (test machines), so the host is part of the
  name: an agent never rewrites another agent's chains;
- in it: replies (conntrack ESTABLISHED,RELATED) return at once; then a jump per
  guarded address to that port's egress chain (``-s``), then to its ingress
  chain (``-d``);
- per port, ``<host chain>-I<10 hex>`` and ``-O<10 hex>``: one ``RETURN`` per
  allowing rule, then ``DROP``.

Dockyard's chains only ever drop or return, never accept: an allowed packet
goes back to Docker's own chains, so the engine's isolation between networks
still applies to it. Each chain starts with a comment holding a digest of its
rules, so a change rewrites only the chains whose digest differs.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.security_groups import Direction, Protocol, SecurityGroupRule

#: The chain Docker leaves to its users; rules there run before Docker's own.
DOCKER_USER: Final = "DOCKER-USER"
FORWARD: Final = "FORWARD"
_DIGEST_MARK: Final = "dockyard:"
# Neighbour discovery (router/neighbour solicitation and advertisement) must
# pass, or IPv6 stops working on the bridge.
_NDP_TYPES: Final = (133, 134, 135, 136)

#: Chain name → its rules, each an iptables rule spec without ``-A <chain>``.
Ruleset = dict[str, tuple[str, ...]]


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class ChainNames:
    """The names of one (installation, host)'s chains (iptables allows 28 characters)."""

    host_chain: str

    @classmethod
    def of(cls, installation: str, host: str) -> ChainNames:
        return cls("DY-" + _hex(f"{installation}/{host}", 8))

    @property
    def prefix(self) -> str:
        return f"{self.host_chain}-"

    def owns(self, chain: str) -> bool:
        return chain == self.host_chain or chain.startswith(self.prefix)

    def ingress(self, port_id: str) -> str:
        return f"{self.prefix}I{_hex(port_id, 10)}"

    def egress(self, port_id: str) -> str:
        return f"{self.prefix}O{_hex(port_id, 10)}"


def _host_address(text: str, version: int) -> str | None:
    address = ipaddress.ip_address(text)
    if address.version != version:
        return None
    return f"{address}/{address.max_prefixlen}"


def _addresses(port: GuardedPort, version: int) -> list[str]:
    found = (_host_address(a, version) for a in port.addresses)
    return [a for a in found if a is not None]


def _protocol_match(rule: SecurityGroupRule, version: int) -> str:
    protocol = rule.protocol
    if protocol is None:
        return ""
    low, high = rule.port_range_min, rule.port_range_max
    if protocol is Protocol.ICMP:
        name, module, option = (
            ("icmp", "icmp", "--icmp-type")
            if version == 4
            else ("ipv6-icmp", "icmp6", "--icmpv6-type")
        )
        if low is None:
            return f"-p {name}"
        kind = str(low) if high is None else f"{low}/{high}"
        return f"-p {name} -m {module} {option} {kind}"
    if low is None:
        return f"-p {protocol.value}"
    ports = str(low) if low == high else f"{low}:{high}"
    return f"-p {protocol.value} -m {protocol.value} --dport {ports}"


def _remotes(
    rule: SecurityGroupRule, members: Mapping[str, tuple[str, ...]], version: int
) -> list[str]:
    """The remote ends a rule allows, as iptables addresses; ``[""]`` for anyone."""
    if rule.remote_group_id is not None:
        found = (_host_address(a, version) for a in members.get(rule.remote_group_id, ()))
        return sorted({a for a in found if a is not None})
    if rule.remote_ip_prefix is None or ipaddress.ip_network(rule.remote_ip_prefix).prefixlen == 0:
        return [""]
    return [rule.remote_ip_prefix]


def _port_chain(
    port: GuardedPort, direction: Direction, members: Mapping[str, tuple[str, ...]], version: int
) -> tuple[str, ...]:
    side = "-s" if direction is Direction.INGRESS else "-d"
    rules: list[str] = []
    for rule in port.rules:
        if rule.direction is not direction or rule.ethertype.version != version:
            continue
        match = _protocol_match(rule, version)
        for remote in _remotes(rule, members, version):
            parts = [f"{side} {remote}" if remote else "", match, "-j RETURN"]
            rules.append(" ".join(p for p in parts if p))
    rules.append("-j DROP")
    return tuple(dict.fromkeys(rules))


def _host_chain(jumps: list[str], version: int) -> tuple[str, ...]:
    rules = ["-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"]
    if version == 6:
        rules += [f"-p ipv6-icmp -m icmp6 --icmpv6-type {t} -j RETURN" for t in _NDP_TYPES]
    return tuple(rules + jumps)


def render(firewall: HostFirewall, names: ChainNames, version: int) -> Ruleset:
    """The chains enforcing ``firewall`` for IPv``version``; empty when no port is guarded."""
    ruleset: Ruleset = {}
    egress_jumps: list[str] = []
    ingress_jumps: list[str] = []
    for port in firewall.ports:
        addresses = _addresses(port, version)
        if not addresses:
            continue
        ingress, egress = names.ingress(port.port_id), names.egress(port.port_id)
        ruleset[egress] = _port_chain(port, Direction.EGRESS, firewall.members, version)
        ruleset[ingress] = _port_chain(port, Direction.INGRESS, firewall.members, version)
        egress_jumps += [f"-s {a} -j {egress}" for a in addresses]
        ingress_jumps += [f"-d {a} -j {ingress}" for a in addresses]
    if ruleset:
        ruleset[names.host_chain] = _host_chain(egress_jumps + ingress_jumps, version)
    return ruleset


def digest(rules: Iterable[str]) -> str:
    return _hex("\n".join(rules), 16)


def with_digest(rules: tuple[str, ...]) -> tuple[str, ...]:
    """The chain's rules preceded by the comment that records their digest."""
    return (f"-m comment --comment {_DIGEST_MARK}{digest(rules)}", *rules)


@dataclass
class Installed:
    """What ``iptables-save`` shows of one (installation, host)'s chains."""

    #: Our chains → the digest their first rule records ("" when it records none).
    chains: dict[str, str] = field(default_factory=dict)
    #: How many jumps into our host chain each chain holds (``DOCKER-USER``, ``FORWARD``).
    jumps: dict[str, int] = field(default_factory=dict)
    has_docker_user: bool = False


_CHAIN_LINE = re.compile(r"^:(\S+) ")
_RULE_LINE = re.compile(r"^-A (\S+) (.*)$")
_DIGEST = re.compile(rf'--comment "?{_DIGEST_MARK}([0-9a-f]+)"?')


def parse_save(text: str, names: ChainNames) -> Installed:
    """Read our chains, their digests and the hook jumps from ``iptables-save -t filter``."""
    installed = Installed()
    seen_rule: set[str] = set()
    for line in text.splitlines():
        if chain_line := _CHAIN_LINE.match(line):
            chain = chain_line.group(1)
            if chain == DOCKER_USER:
                installed.has_docker_user = True
            if names.owns(chain):
                installed.chains[chain] = ""
            continue
        rule_line = _RULE_LINE.match(line)
        if rule_line is None:
            continue
        chain, spec = rule_line.groups()
        if spec == f"-j {names.host_chain}":
            installed.jumps[chain] = installed.jumps.get(chain, 0) + 1
        if names.owns(chain) and chain not in seen_rule:
            seen_rule.add(chain)
            found = _DIGEST.search(spec)
            installed.chains[chain] = found.group(1) if found else ""
    return installed


def restore_script(desired: Ruleset, installed: Installed, names: ChainNames) -> str | None:
    """The ``iptables-restore --noflush`` input turning ``installed`` into ``desired``.

    ``None`` when nothing differs. Only chains whose digest changed are rewritten
    (declaring a chain creates it or flushes it); chains no longer wanted are
    flushed and deleted after the host chain stops jumping to them; the hook jump
    is added once or removed, and duplicates of it are removed.
    """
    changed = {
        chain: rules
        for chain, rules in desired.items()
        if installed.chains.get(chain) != digest(rules)
    }
    stale = sorted(chain for chain in installed.chains if chain not in desired)
    hook = DOCKER_USER if installed.has_docker_user else FORWARD
    jump = f"-j {names.host_chain}"
    hook_lines: list[str] = []
    for chain, count in sorted(installed.jumps.items()):
        keep = 1 if desired and chain == hook else 0
        hook_lines += [f"-D {chain} {jump}"] * (count - keep)
    if desired and installed.jumps.get(hook, 0) == 0:
        hook_lines.append(f"-I {hook} 1 {jump}")
    if not changed and not stale and not hook_lines:
        return None
    lines = ["*filter"]
    lines += [f":{chain} - [0:0]" for chain in [*sorted(changed), *stale]]
    for chain in sorted(changed, key=lambda c: c == names.host_chain):
        lines += [f"-A {chain} {rule}" for rule in with_digest(changed[chain])]
    lines += hook_lines
    lines += [f"-X {chain}" for chain in stale if chain != names.host_chain]
    if names.host_chain in stale:
        lines.append(f"-X {names.host_chain}")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
