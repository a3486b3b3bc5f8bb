"""Tell the hosts carrying a network to other hosts that its members changed."""

from __future__ import annotations

import logging
from collections.abc import Collection

from dockyard.domain.errors import DockyardError
from dockyard.drivers.network.base import NetworkDriver
from dockyard.rpc.api import ComputeAPI

LOG = logging.getLogger(__name__)


class TunnelPush:
    """After a port is made or released: every host with members of its networks (and
    ``also``, the host the member was on) re-reads its networks and joins or leaves
    the others at once, instead of at its next reconcile pass.

    A cast per host; a host that cannot be told now catches up when it reconciles.
    """

    def __init__(self, driver: NetworkDriver, compute: ComputeAPI) -> None:
        self.driver = driver
        self.compute = compute

    def __call__(
        self, network_ids: Collection[str], also: Collection[str] = (), skip: str | None = None
    ) -> None:
        """``skip``: a host that learns of the change otherwise (the one being sent the
        container, whose message names its networks' other hosts)."""
        if not network_ids:
            return
        try:
            hosts = self.driver.member_hosts(network_ids) | set(also)
        except DockyardError as exc:
            LOG.warning("hosts of networks %s not told of a member change: %s", network_ids, exc)
            return
        for host in sorted(hosts - {skip}):
            try:
                self.compute.networks_changed(host)
            except DockyardError as exc:
                LOG.warning("host %s keeps its tunnels until it reconciles: %s", host, exc)
