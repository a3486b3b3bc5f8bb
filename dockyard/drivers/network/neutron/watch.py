"""Keeps hosts' firewalls true to Neutron, and Neutron free of this installation's dead ports.

Neutron tells no one when a rule changes (there are no agents here), so the
control side reads the security groups of this installation's ports every
``poll_interval`` (three list calls, whatever the number of hosts), and pushes a
host's firewall only when its fingerprint changed. Every ``sweep_every`` passes it
also deletes the ports this installation made whose container no record knows
(a create or delete that died half-way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable

from dockyard.domain.errors import DockyardError
from dockyard.domain.firewall import HostFirewall
from dockyard.drivers.network.neutron.driver import NeutronNetworkDriver, digest

LOG = logging.getLogger(__name__)

Push = Callable[[str, HostFirewall], None]
Live = Callable[[Iterable[str]], Collection[str]]


class NeutronWatch:
    def __init__(
        self, driver: NeutronNetworkDriver, push: Push, live: Live, sweep_every: int = 30
    ) -> None:
        self.driver = driver
        self.push = push
        self.live = live
        self.sweep_every = sweep_every
        self._pushed: dict[str, str] = {}
        self._passes = 0

    def run(self) -> None:
        self.enforce()
        self._passes += 1
        if self._passes % self.sweep_every == 1:
            self.sweep()

    def enforce(self) -> None:
        """Push each host whose firewall changed since the last push (and hosts whose
        last port went: they get an empty one)."""
        firewalls = self.driver.firewalls()
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
