"""Tell hosts their new firewall as soon as a rule, a group's members or a port changes."""

from __future__ import annotations

import logging
from collections.abc import Collection

from dockyard.domain.errors import DockyardError
from dockyard.drivers.network.base import NetworkDriver
from dockyard.rpc.api import ComputeAPI

LOG = logging.getLogger(__name__)


class FirewallPush:
    """Works out each changed host's firewall and has its agent apply it, in the request.

    A host that cannot be reached now is not an error for the caller: the records
    changed, and the host's reconcile loop applies them on its next pass.
    """

    def __init__(self, driver: NetworkDriver, compute: ComputeAPI) -> None:
        self.driver = driver
        self.compute = compute

    def __call__(self, hosts: Collection[str]) -> None:
        for host in hosts:
            try:
                self.compute.apply_firewall(host, self.driver.firewall_for_host(host))
            except DockyardError as exc:
                LOG.warning("host %s keeps its old rules until it reconciles: %s", host, exc)
