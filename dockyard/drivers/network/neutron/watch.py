"""Keeps hosts' firewalls true to Neutron, and Neutron free of this installation's dead ports.

Neutron tells no one when a rule changes (there are no agents here), so the
control side reads, every ``poll_interval``, the installation's ports and the
groups (with their rules) they are in: two list calls, whatever the number of
hosts. When either differs from the last read, each host's firewall is worked out
again (with the remote groups' members read again if ports changed) and pushed to the hosts whose
firewall changed. Every ``full_every`` passes the members are read again too, for
ports that joined or left a remote group outside Dockyard. Every ``sweep_every``
passes the ports this installation made whose container no record knows (a create
or delete that died half-way) are deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable

from dockyard.domain.errors import DockyardError
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.networks import Port
from dockyard.domain.security_groups import SecurityGroup
from dockyard.drivers.network.neutron.driver import (
    NeutronNetworkDriver,
    digest,
    firewalls_of,
    group_ids_of,
    remote_groups,
)

LOG = logging.getLogger(__name__)

Push = Callable[[str, HostFirewall], None]
Live = Callable[[Iterable[str]], Collection[str]]


class NeutronWatch:
    def __init__(
        self,
        driver: NeutronNetworkDriver,
        push: Push,
        live: Live,
        sweep_every: int = 30,
        full_every: int = 10,
    ) -> None:
        self.driver = driver
        self.push = push
        self.live = live
        self.sweep_every = sweep_every
        self.full_every = full_every
        self._pushed: dict[str, str] = {}
        self._passes = 0
        self._ports: list[Port] = []
        self._members: list[Port] = []
        self._groups: dict[str, SecurityGroup] | None = None

    def run(self) -> None:
        if self._passes % self.full_every == 0:
            self.enforce()
        else:
            self.follow_rules()
        if self._passes % self.sweep_every == 0:
            self.sweep()
        self._passes += 1

    def enforce(self) -> None:
        """Read ports, groups and members afresh and push what changed."""
        self._ports = self.driver.installation_ports()
        groups = self.driver.groups_by_id(group_ids_of(self._ports))
        self._members = self.driver.members(remote_groups(groups.values()))
        self._groups = groups
        self._push_changed()

    def follow_rules(self) -> None:
        """Read the ports and their groups (two calls); push what changed if they did."""
        if self._groups is None:
            self.enforce()
            return
        ports = self.driver.installation_ports()
        groups = self.driver.groups_by_id(group_ids_of(ports))
        if ports == self._ports and groups == self._groups:
            return
        # New ports may be members of remote groups, too.
        if ports != self._ports or remote_groups(groups.values()) != remote_groups(
            self._groups.values()
        ):
            self._members = self.driver.members(remote_groups(groups.values()))
        self._ports, self._groups = ports, groups
        self._push_changed()

    def _push_changed(self) -> None:
        """Push each host whose firewall changed since the last push (and hosts whose
        last port went: they get an empty one)."""
        firewalls = firewalls_of(self._ports, self._groups or {}, self._members)
        for host in set(self._pushed) - set(firewalls):
            firewalls[host] = HostFirewall()
        for host, firewall in sorted(firewalls.items()):
            fingerprint = digest(firewall)
            if self._pushed.get(host) == fingerprint:
                continue
            try:
                self.push(host, firewall)
            except DockyardError as exc:
                LOG.warning("host %s keeps its old rules for now: %s", host, exc)
                continue
            if firewall == HostFirewall():
                self._pushed.pop(host, None)
            else:
                self._pushed[host] = fingerprint

    def sweep(self) -> int:
        """Delete this installation's ports whose container is gone; how many."""
        removed = 0
        for port in self.driver.orphan_ports(self.live):
            try:
                self.driver.release_ports(port.device_id, (port,))
                removed += 1
                LOG.info("removed port %s of vanished container %s", port.id, port.device_id)
            except DockyardError as exc:
                LOG.warning("could not remove orphan port %s: %s", port.id, exc)
        return removed
