"""A container's ports as its record keeps them (``addresses``), and back.

The record's ``addresses`` column predates networking and has Zun's shape:
``{network_id: [{"addr", "version", "port", "subnet_id", "preserve_on_delete"}]}``.
These functions are the only place that shape is built or read. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.domain.networks import FixedIP, Port

Addresses = dict[str, list[dict[str, object]]]


@dataclass(frozen=True)
class HeldPort:
    """A port a container holds, as its record remembers it."""

    port: Port
    #: A user's port, kept (and unbound) when the container goes.
    preserve_on_delete: bool


def addresses_of(ports: Sequence[Port], preserved: Collection[str] = ()) -> Addresses:
    """The record's ``addresses`` for ``ports``; ``preserved``: ids of users' ports."""
    result: Addresses = {}
    for port in ports:
        entries = result.setdefault(port.network_id, [])
        for fixed in port.fixed_ips:
            entries.append(
                {
                    "addr": fixed.ip_address,
                    "version": ipaddress.ip_address(fixed.ip_address).version,
                    "port": port.id,
                    "subnet_id": fixed.subnet_id,
                    "preserve_on_delete": port.id in preserved,
                }
            )
        if not port.fixed_ips:
            entries.append(
                {
                    "addr": None,
                    "version": None,
                    "port": port.id,
                    "subnet_id": None,
                    "preserve_on_delete": port.id in preserved,
                }
            )
    return result


def held_ports(
    project_id: str, addresses: Mapping[str, Iterable[Mapping[str, Any]]] | None
) -> tuple[HeldPort, ...]:
    """The ports a record's ``addresses`` name (ids, networks and fixed IPs), in order."""
    found: dict[str, tuple[str, list[FixedIP], bool]] = {}
    for network_id, entries in (addresses or {}).items():
        for entry in entries:
            port_id = str(entry.get("port") or "")
            if not port_id:
                continue
            _, ips, _ = found.setdefault(
                port_id, (network_id, [], bool(entry.get("preserve_on_delete")))
            )
            if entry.get("addr"):
                ips.append(FixedIP(str(entry.get("subnet_id") or ""), str(entry["addr"])))
    return tuple(
        HeldPort(
            Port(
                id=port_id,
                project_id=project_id,
                network_id=network_id,
                mac_address="",
                fixed_ips=tuple(ips),
            ),
            preserve,
        )
        for port_id, (network_id, ips, preserve) in found.items()
    )
