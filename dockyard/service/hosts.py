"""Compute hosts and their agents as services: listing, switches, availability zones."""

from __future__ import annotations

from dockyard.db.repositories.hosts import HostRepository
from dockyard.domain.errors import HostNotFound, ServiceNotFound
from dockyard.domain.models import Host

#: The only binary that registers as a service: the per-host agent.
COMPUTE_BINARY = "dockyard-compute"


class HostService:
    def __init__(self, hosts: HostRepository, max_limit: int, default_zone: str) -> None:
        self.hosts = hosts
        self.max_limit = max_limit
        #: Shown in the service list for a host without a zone.
        self.default_zone = default_zone

    def services(self) -> list[Host]:
        """Every compute service, oldest first; ``up`` reflects heartbeats and forced_down."""
        return self.hosts.services()

    def enable(self, host: str, binary: str) -> None:
        """Let the scheduler place containers on ``host`` again; 404 for an unknown service."""
        self._switch(host, binary, enabled=True, disabled_reason=None)

    def disable(self, host: str, binary: str, reason: str | None) -> None:
        """Keep new containers off ``host``; the ones there keep running."""
        self._switch(host, binary, enabled=False, disabled_reason=reason)

    def force_down(self, host: str, binary: str, forced_down: bool) -> None:
        """Mark the service down (or clear that) whatever its heartbeats say."""
        self._switch(host, binary, forced_down=forced_down)

    def delete(self, host: str, binary: str) -> None:
        """Forget the service; a live agent registers again with its next heartbeat."""
        if binary != COMPUTE_BINARY or not self.hosts.delete(host):
            raise _not_found(host, binary)

    def page(
        self, limit: int | None, marker: str | None, sort_key: str, sort_dir: str
    ) -> list[Host]:
        """A page of hosts; 404 for an unknown marker, 400 for an unknown sort key."""
        return self.hosts.page(self.limit(limit), marker, sort_key, sort_dir)

    def get(self, ident: str) -> Host:
        """A host by uuid or name; 404 when there is none."""
        host = self.hosts.find(ident)
        if host is None:
            raise HostNotFound(f"Compute host {ident} could not be found.")
        return host

    def zones(self, limit: int | None) -> list[str]:
        """Distinct availability zones of the first ``limit`` services by zone."""
        return self.hosts.zones(self.limit(limit))

    def limit(self, requested: int | None) -> int:
        return min(requested or self.max_limit, self.max_limit)

    def _switch(self, host: str, binary: str, **values: object) -> None:
        if binary != COMPUTE_BINARY or not self.hosts.set_switches(host, **values):
            raise _not_found(host, binary)


def _not_found(host: str, binary: str) -> ServiceNotFound:
    return ServiceNotFound(f"Service {binary} on host {host} could not be found.")
