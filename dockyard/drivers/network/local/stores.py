"""What the ``local`` network driver needs of its records, as the database layer serves them.

The driver sits beside ``dockyard.db`` (neither imports the other); the
composition root hands it the repositories, which fit these protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from dockyard.domain.networks import Network, Port, Subnet
from dockyard.domain.security_groups import SecurityGroup


class NetworkStore(Protocol):
    def create_network(
        self,
        network: Network,
        subnets: Sequence[Subnet] = (),
        default_for: str | None = None,
        check: Callable[[list[Subnet]], None] | None = None,
    ) -> Network: ...

    def project_network(self, project_id: str) -> Network | None: ...

    def networks(self, visible_to: str | None = None, **equal: str) -> list[Network]: ...

    def segment(self, network_id: str) -> int: ...

    def subnets(self, visible_to: str | None = None, **equal: str) -> list[Subnet]: ...

    def subnets_of(self, network_ids: Collection[str]) -> list[Subnet]: ...

    def held_addresses(self, subnet_id: str) -> list[str]: ...

    def create_port(self, port: Port, wanted: Sequence[tuple[Subnet, str | None]]) -> Port: ...

    def ports(self, visible_to: str | None = None, **equal: str) -> list[Port]: ...

    def ports_in_groups(self, group_ids: Collection[str]) -> list[Port]: ...

    def bind_port(
        self,
        port_id: str,
        device_id: str,
        host: str,
        device_owner: str,
        also_groups: Sequence[str] = (),
    ) -> Port: ...

    def unbind_port(
        self, port_id: str, device_id: str, drop_groups: Sequence[str] = ()
    ) -> None: ...

    def delete_port(self, port_id: str, device_id: str | None = None) -> bool: ...


class SecurityGroupStore(Protocol):
    def create_group(
        self, group: SecurityGroup, default_for: str | None = None
    ) -> SecurityGroup: ...

    def default_group(self, project_id: str) -> SecurityGroup | None: ...

    def groups(self, visible_to: str | None = None, **equal: str) -> list[SecurityGroup]: ...

    def groups_by_id(self, group_ids: Collection[str]) -> Mapping[str, SecurityGroup]: ...

    def delete_group(self, group_id: str) -> None: ...
