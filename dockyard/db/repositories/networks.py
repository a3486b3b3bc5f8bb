"""Networks, subnets and ports of the ``local`` network driver, with race-safe addresses.

Addresses are chosen and recorded in one transaction. Two transactions that
pick the same address (each read it free) race to the insert; the unique
constraint on (network, address) lets one win and the other is retried, when it
sees the address taken. The same holds for a project's own network (unique per
project) and subnets' CIDRs (unique in the installation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final, cast

from sqlalchemy import Connection, Row, Table, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from dockyard.db.models import (
    InstallationRow,
    NetworkRow,
    PortAddressRow,
    PortRow,
    PortSecurityGroupRow,
    SubnetRow,
)
from dockyard.db.session import Database
from dockyard.domain import ipam
from dockyard.domain.errors import (
    Conflict,
    InvalidInput,
    IpAddressGenerationFailure,
    MacAddressInUse,
    NetworkInUse,
    NetworkNotFound,
    PortInUse,
    PortNotFound,
    SubnetInUse,
    SubnetNotFound,
)
from dockyard.domain.networks import AllocationPool, FixedIP, Network, Port, Subnet

LOG = logging.getLogger(__name__)

N = cast(Table, NetworkRow.__table__)
S = cast(Table, SubnetRow.__table__)
P = cast(Table, PortRow.__table__)
A = cast(Table, PortAddressRow.__table__)
PSG = cast(Table, PortSecurityGroupRow.__table__)
INSTALLATION = cast(Table, InstallationRow.__table__)

#: Tries of a port create that lost an address race (each sees the winner's address).
ATTEMPTS: Final = 8
#: VXLAN ids are 24 bits.
MAX_SEGMENT: Final = 2**24 - 1

#: Columns of a network, subnet or port a caller may change.
NETWORK_UPDATABLE: Final = frozenset({"name", "shared", "external", "admin_state_up", "mtu"})
SUBNET_UPDATABLE: Final = frozenset({"name"})
PORT_UPDATABLE: Final = frozenset({"name", "admin_state_up", "device_id", "device_owner", "host"})

#: A subnet's addresses, asked for (``str``) or to be allocated (``None``).
Wanted = Sequence[tuple[Subnet, str | None]]


def _network(row: Row[Any]) -> Network:
    return Network(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        shared=row.shared,
        external=row.external,
        admin_state_up=row.admin_state_up,
        mtu=row.mtu,
    )


def _subnet(row: Row[Any]) -> Subnet:
    return Subnet(
        id=row.id,
        network_id=row.network_id,
        project_id=row.project_id,
        cidr=row.cidr,
        ip_version=row.ip_version,
        gateway_ip=row.gateway_ip,
        allocation_pools=tuple(AllocationPool(p["start"], p["end"]) for p in row.allocation_pools),
        name=row.name,
    )


def _visible(table: Table, project_id: str | None) -> Any:
    """Rows of ``project_id`` and of shared or external networks (as Neutron shows them to
    every project); every row for ``None``."""
    if project_id is None:
        return True
    shared = select(N.c.id).where(or_(N.c.shared.is_(True), N.c.external.is_(True)))
    column = table.c.id if table is N else table.c.network_id
    return or_(table.c.project_id == project_id, column.in_(shared))


def _serialise_subnets(conn: Connection) -> None:
    """Hold the installation's one row until commit: subnet creates then run one at a
    time, so an overlap check cannot miss a subnet another transaction is adding
    (row locks cannot see rows not yet inserted). SQLite's writes are serial anyway."""
    conn.execute(select(INSTALLATION.c.id).with_for_update())


def _lost_race(exc: IntegrityError | OperationalError) -> bool:
    # MariaDB answers a deadlock or lock wait (1213/1205) where others raise
    # IntegrityError; both mean "try again".
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "args", (None,))[0] in (1205, 1213)


class NetworkRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # networks

    def create_network(
        self,
        network: Network,
        subnets: Sequence[Subnet] = (),
        default_for: str | None = None,
        check: Callable[[list[Subnet]], None] | None = None,
    ) -> Network:
        """Insert the network and its subnets together, after ``check`` passed on every
        subnet of the installation, read in the same transaction (the overlap check).

        With ``default_for`` this is that project's own network: when another
        transaction made it first, that network is returned instead. A CIDR
        another subnet holds → ``InvalidInput``.
        """
        now = self.db.clock.now()
        try:
            with self.db.write() as conn:
                if subnets:
                    _serialise_subnets(conn)
                    if check is not None:
                        check([_subnet(r) for r in conn.execute(select(S)).all()])
                conn.execute(
                    insert(N).values(
                        id=network.id,
                        project_id=network.project_id,
                        name=network.name,
                        shared=network.shared,
                        external=network.external,
                        admin_state_up=network.admin_state_up,
                        mtu=network.mtu,
                        default_for=default_for,
                        created_at=now,
                    )
                )
                for subnet in subnets:
                    self._insert_subnet(conn, subnet)
        except IntegrityError:
            if default_for is not None:
                existing = self.project_network(default_for)
                if existing is not None:
                    return existing
            self._refuse_taken_cidrs(subnets)
            raise
        return network

    def _refuse_taken_cidrs(self, subnets: Sequence[Subnet]) -> None:
        cidrs = [s.cidr for s in subnets]
        with self.db.read() as conn:
            taken = conn.execute(select(S.c.cidr).where(S.c.cidr.in_(cidrs))).scalars().first()
        if taken is not None:
            raise InvalidInput(f"Subnet {taken} is held by another subnet.", field="cidr")

    def project_network(self, project_id: str) -> Network | None:
        with self.db.read() as conn:
            row = conn.execute(select(N).where(N.c.default_for == project_id)).first()
        return None if row is None else _network(row)

    def networks(self, visible_to: str | None = None, **equal: str) -> list[Network]:
        """Networks ``visible_to`` a project (its own and shared ones), all for ``None``;
        ``equal`` narrows to exact column values (``id``, ``name``, ``project_id``)."""
        query = select(N).where(_visible(N, visible_to))
        for column, value in equal.items():
            query = query.where(N.c[column] == value)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(N.c.created_at, N.c.id)).all()
        return [_network(r) for r in rows]

    def get_network(self, network_id: str) -> Network:
        with self.db.read() as conn:
            row = conn.execute(select(N).where(N.c.id == network_id)).first()
        if row is None:
            raise NetworkNotFound(f"Network {network_id} could not be found.")
        return _network(row)

    def segment(self, network_id: str) -> int:
        """The network's tunnel id, given now (the lowest unused from 1) when it has none.

        Two networks given the same id at once: the unique column refuses the
        second, which tries again and sees the first's.
        """
        with self.db.read() as conn:
            given = conn.execute(select(N.c.segment_id).where(N.c.id == network_id)).scalar()
        if given is not None:  # the common case, every reconcile pass: no write
            return int(given)
        for _ in range(ATTEMPTS):
            try:
                with self.db.write() as conn:
                    row = conn.execute(select(N.c.segment_id).where(N.c.id == network_id)).first()
                    if row is None:
                        raise NetworkNotFound(f"Network {network_id} could not be found.")
                    if row.segment_id is not None:
                        return int(row.segment_id)
                    taken = set(conn.execute(select(N.c.segment_id)).scalars())
                    value = next(n for n in range(1, MAX_SEGMENT + 2) if n not in taken)
                    if value > MAX_SEGMENT:
                        raise IpAddressGenerationFailure("Every VXLAN id is in use.")
                    conn.execute(
                        update(N)
                        .where(N.c.id == network_id, N.c.segment_id.is_(None))
                        .values(segment_id=value)
                    )
            except (IntegrityError, OperationalError) as exc:
                if not _lost_race(exc):
                    raise
        return self._segment_now(network_id)

    def _segment_now(self, network_id: str) -> int:
        with self.db.read() as conn:
            value = conn.execute(select(N.c.segment_id).where(N.c.id == network_id)).scalar()
        if value is None:
            raise Conflict(f"Network {network_id} got no VXLAN id; try again.")
        return int(value)

    def update_network(self, network_id: str, values: Mapping[str, Any]) -> Network:
        unknown = set(values) - NETWORK_UPDATABLE
        if unknown:
            raise InvalidInput(f"Cannot update network attribute(s) {', '.join(sorted(unknown))}.")
        with self.db.write() as conn:
            done = conn.execute(
                update(N)
                .where(N.c.id == network_id)
                .values(updated_at=self.db.clock.now(), **values)
            ).rowcount
        if not done:
            raise NetworkNotFound(f"Network {network_id} could not be found.")
        return self.get_network(network_id)

    def delete_network(self, network_id: str) -> None:
        """Remove the network and its subnets; 409 while a port is on it."""
        with self.db.write() as conn:
            ports = conn.execute(
                select(func.count()).select_from(P).where(P.c.network_id == network_id)
            ).scalar_one()
            if ports:
                raise NetworkInUse(
                    f"Unable to complete operation on network {network_id}. "
                    f"There are one or more ports still in use on the network ({ports})."
                )
            conn.execute(delete(S).where(S.c.network_id == network_id))
            if not conn.execute(delete(N).where(N.c.id == network_id)).rowcount:
                raise NetworkNotFound(f"Network {network_id} could not be found.")

    # subnets

    def _insert_subnet(self, conn: Connection, subnet: Subnet) -> None:
        conn.execute(
            insert(S).values(
                id=subnet.id,
                network_id=subnet.network_id,
                project_id=subnet.project_id,
                name=subnet.name,
                cidr=subnet.cidr,
                ip_version=subnet.ip_version,
                gateway_ip=subnet.gateway_ip,
                allocation_pools=[
                    {"start": p.start, "end": p.end} for p in subnet.allocation_pools
                ],
                created_at=self.db.clock.now(),
            )
        )

    def add_subnet(self, subnet: Subnet, check: Callable[[list[Subnet]], None]) -> Subnet:
        """Insert ``subnet`` after ``check`` passed on every subnet of the installation,
        read in the same transaction (the overlap check); the network must exist."""
        try:
            with self.db.write() as conn:
                _serialise_subnets(conn)
                found = conn.execute(select(N.c.id).where(N.c.id == subnet.network_id)).first()
                if found is None:
                    raise NetworkNotFound(f"Network {subnet.network_id} could not be found.")
                check([_subnet(r) for r in conn.execute(select(S)).all()])
                self._insert_subnet(conn, subnet)
        except IntegrityError:
            self._refuse_taken_cidrs([subnet])
            raise
        return subnet

    def subnets(self, visible_to: str | None = None, **equal: str) -> list[Subnet]:
        query = select(S).where(_visible(S, visible_to))
        for column, value in equal.items():
            query = query.where(S.c[column] == value)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(S.c.created_at, S.c.id)).all()
        return [_subnet(r) for r in rows]

    def subnets_of(self, network_ids: Collection[str]) -> list[Subnet]:
        if not network_ids:
            return []
        query = select(S).where(S.c.network_id.in_(list(network_ids)))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(S.c.created_at, S.c.id)).all()
        return [_subnet(r) for r in rows]

    def get_subnet(self, subnet_id: str) -> Subnet:
        with self.db.read() as conn:
            row = conn.execute(select(S).where(S.c.id == subnet_id)).first()
        if row is None:
            raise SubnetNotFound(f"Subnet {subnet_id} could not be found.")
        return _subnet(row)

    def update_subnet(self, subnet_id: str, values: Mapping[str, Any]) -> Subnet:
        unknown = set(values) - SUBNET_UPDATABLE
        if unknown:
            raise InvalidInput(f"Cannot update subnet attribute(s) {', '.join(sorted(unknown))}.")
        with self.db.write() as conn:
            done = conn.execute(
                update(S)
                .where(S.c.id == subnet_id)
                .values(updated_at=self.db.clock.now(), **values)
            ).rowcount
        if not done:
            raise SubnetNotFound(f"Subnet {subnet_id} could not be found.")
        return self.get_subnet(subnet_id)

    def delete_subnet(self, subnet_id: str) -> None:
        """Remove the subnet; 409 while a port holds one of its addresses."""
        with self.db.write() as conn:
            held = conn.execute(
                select(func.count()).select_from(A).where(A.c.subnet_id == subnet_id)
            ).scalar_one()
            if held:
                raise SubnetInUse(
                    f"Unable to complete operation on subnet {subnet_id}: "
                    f"{held} port address(es) are allocated from it."
                )
            if not conn.execute(delete(S).where(S.c.id == subnet_id)).rowcount:
                raise SubnetNotFound(f"Subnet {subnet_id} could not be found.")

    def held_addresses(self, subnet_id: str) -> list[str]:
        """The addresses ports hold in the subnet (the gateway is the subnet's own)."""
        with self.db.read() as conn:
            query = select(A.c.ip_address).where(A.c.subnet_id == subnet_id)
            return list(conn.execute(query).scalars().all())

    # ports

    def create_port(self, port: Port, wanted: Wanted) -> Port:
        """Insert ``port`` with one address per entry of ``wanted`` and its groups.

        Asked-for addresses are checked with ``ipam.claim`` (400 outside the
        subnet, 409 taken), others come from ``ipam.allocate``, all against the
        addresses held when the transaction reads them; a transaction that loses
        the race for an address is retried. ``port.fixed_ips`` is ignored.
        """
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.db.write() as conn:
                    self._insert_port(conn, port, wanted)
                return self.get_port(port.id)
            except (IntegrityError, OperationalError) as exc:
                if not _lost_race(exc) or attempt == ATTEMPTS:
                    raise
                LOG.debug("port %s lost an address race (try %d): %s", port.id, attempt, exc)
        raise AssertionError("unreachable")

    def _insert_port(self, conn: Connection, port: Port, wanted: Wanted) -> None:
        # One allocation per network at a time: concurrent creates all want the lowest
        # free address, and retrying losers alone did not end 60 simultaneous creates.
        conn.execute(select(N.c.id).where(N.c.id == port.network_id).with_for_update())
        mac_taken = conn.execute(
            select(P.c.id).where(
                P.c.network_id == port.network_id, P.c.mac_address == port.mac_address
            )
        ).first()
        if mac_taken is not None:
            raise MacAddressInUse(
                f"Unable to complete operation for network {port.network_id}. "
                f"The mac address {port.mac_address} is in use."
            )
        chosen: list[FixedIP] = []
        held: dict[str, list[str]] = {}
        for subnet, requested in wanted:
            if subnet.id not in held:
                held[subnet.id] = list(
                    conn.execute(select(A.c.ip_address).where(A.c.subnet_id == subnet.id))
                    .scalars()
                    .all()
                )
            in_use = held[subnet.id]
            if requested is None:
                address = ipam.allocate(subnet, in_use)
            else:
                address = ipam.claim(subnet, requested, in_use)
            in_use.append(address)
            chosen.append(FixedIP(subnet.id, address))
        conn.execute(
            insert(P).values(
                id=port.id,
                project_id=port.project_id,
                network_id=port.network_id,
                name=port.name,
                mac_address=port.mac_address,
                device_id=port.device_id,
                device_owner=port.device_owner,
                host=port.host,
                admin_state_up=port.admin_state_up,
                status=_status(port.host, port.device_id),
                preserve_on_delete=port.preserve_on_delete,
                created_at=self.db.clock.now(),
            )
        )
        if chosen:
            conn.execute(
                insert(A),
                [
                    {
                        "port_id": port.id,
                        "ip_address": fixed.ip_address,
                        "subnet_id": fixed.subnet_id,
                        "network_id": port.network_id,
                        "position": i,
                    }
                    for i, fixed in enumerate(chosen)
                ],
            )
        self._set_groups(conn, port.id, port.security_group_ids)

    @staticmethod
    def _set_groups(conn: Connection, port_id: str, group_ids: Sequence[str]) -> None:
        conn.execute(delete(PSG).where(PSG.c.port_id == port_id))
        unique = list(dict.fromkeys(group_ids))
        if unique:
            conn.execute(
                insert(PSG),
                [
                    {"port_id": port_id, "security_group_id": g, "position": i}
                    for i, g in enumerate(unique)
                ],
            )

    def _ports(self, conn: Connection, where: Sequence[Any]) -> list[Port]:
        rows = conn.execute(select(P).where(*where).order_by(P.c.created_at, P.c.id)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        addresses: dict[str, list[FixedIP]] = {i: [] for i in ids}
        for a in conn.execute(
            select(A).where(A.c.port_id.in_(ids)).order_by(A.c.port_id, A.c.position)
        ).all():
            addresses[a.port_id].append(FixedIP(a.subnet_id, a.ip_address))
        groups: dict[str, list[str]] = {i: [] for i in ids}
        for g in conn.execute(
            select(PSG).where(PSG.c.port_id.in_(ids)).order_by(PSG.c.port_id, PSG.c.position)
        ).all():
            groups[g.port_id].append(g.security_group_id)
        return [
            Port(
                id=r.id,
                project_id=r.project_id,
                network_id=r.network_id,
                mac_address=r.mac_address,
                fixed_ips=tuple(addresses[r.id]),
                security_group_ids=tuple(groups[r.id]),
                name=r.name,
                device_id=r.device_id,
                device_owner=r.device_owner,
                host=r.host,
                admin_state_up=r.admin_state_up,
                preserve_on_delete=r.preserve_on_delete,
                status=r.status,
            )
            for r in rows
        ]

    def ports(self, visible_to: str | None = None, **equal: str) -> list[Port]:
        """Ports of ``visible_to``'s project (every port for ``None``), narrowed by exact
        values of ``id``, ``name``, ``network_id``, ``device_id``, ``host``, ``project_id``."""
        where = [] if visible_to is None else [P.c.project_id == visible_to]
        where += [P.c[column] == value for column, value in equal.items()]
        with self.db.read() as conn:
            return self._ports(conn, where)

    def ports_in_groups(self, group_ids: Collection[str]) -> list[Port]:
        """Every port that is a member of one of ``group_ids``."""
        if not group_ids:
            return []
        members = select(PSG.c.port_id).where(PSG.c.security_group_id.in_(list(group_ids)))
        with self.db.read() as conn:
            return self._ports(conn, [P.c.id.in_(members)])

    def get_port(self, port_id: str) -> Port:
        with self.db.read() as conn:
            found = self._ports(conn, [P.c.id == port_id])
        if not found:
            raise PortNotFound(f"Port {port_id} could not be found.")
        return found[0]

    def update_port(
        self,
        port_id: str,
        values: Mapping[str, Any],
        security_group_ids: Sequence[str] | None = None,
    ) -> Port:
        unknown = set(values) - PORT_UPDATABLE
        if unknown:
            raise InvalidInput(f"Cannot update port attribute(s) {', '.join(sorted(unknown))}.")
        with self.db.write() as conn:
            row = conn.execute(select(P).where(P.c.id == port_id).with_for_update()).first()
            if row is None:
                raise PortNotFound(f"Port {port_id} could not be found.")
            merged = {"host": row.host, "device_id": row.device_id, **values}
            conn.execute(
                update(P)
                .where(P.c.id == port_id)
                .values(
                    updated_at=self.db.clock.now(),
                    status=_status(merged["host"], merged["device_id"]),
                    **values,
                )
            )
            if security_group_ids is not None:
                self._set_groups(conn, port_id, security_group_ids)
        return self.get_port(port_id)

    def bind_port(
        self,
        port_id: str,
        device_id: str,
        host: str,
        device_owner: str,
        also_groups: Sequence[str] = (),
    ) -> Port:
        """Bind the port to ``device_id`` on ``host``; 409 when another device holds it.

        ``also_groups`` join the port's own groups (after them) with the binding.
        """
        with self.db.write() as conn:
            done = conn.execute(
                update(P)
                .where(P.c.id == port_id, P.c.device_id.in_(["", device_id]))
                .values(
                    device_id=device_id,
                    host=host,
                    device_owner=device_owner,
                    status=_status(host, device_id),
                    updated_at=self.db.clock.now(),
                )
            ).rowcount
            if done and also_groups:
                self._set_groups(conn, port_id, [*self._groups_of(conn, port_id), *also_groups])
        if not done:
            current = self.get_port(port_id)  # 404 when it is gone
            raise PortInUse(
                f"Port {port_id} is in use by device {current.device_id}.", port_id=port_id
            )
        return self.get_port(port_id)

    @staticmethod
    def _groups_of(conn: Connection, port_id: str) -> list[str]:
        rows = conn.execute(
            select(PSG.c.security_group_id).where(PSG.c.port_id == port_id).order_by(PSG.c.position)
        )
        return [str(group_id) for group_id in rows.scalars()]

    def unbind_port(self, port_id: str, device_id: str, drop_groups: Sequence[str] = ()) -> None:
        """Unbind the port when ``device_id`` holds it (and take it out of
        ``drop_groups``); otherwise leave it alone."""
        with self.db.write() as conn:
            unbound = conn.execute(
                update(P)
                .where(P.c.id == port_id, P.c.device_id == device_id)
                .values(
                    device_id="",
                    device_owner="",
                    host="",
                    status=_status("", ""),
                    updated_at=self.db.clock.now(),
                )
            ).rowcount
            if unbound and drop_groups:
                kept = [g for g in self._groups_of(conn, port_id) if g not in drop_groups]
                self._set_groups(conn, port_id, kept)

    def delete_port(self, port_id: str, device_id: str | None = None) -> bool:
        """Remove the port and free its addresses; whether it was there. With
        ``device_id``, only while that device holds it."""
        where = [P.c.id == port_id]
        if device_id is not None:
            where.append(P.c.device_id == device_id)
        with self.db.write() as conn:
            if conn.execute(select(P.c.id).where(*where).with_for_update()).first() is None:
                return False
            conn.execute(delete(PSG).where(PSG.c.port_id == port_id))
            conn.execute(delete(A).where(A.c.port_id == port_id))
            conn.execute(delete(P).where(P.c.id == port_id))
            return True


def _status(host: str, device_id: str) -> str:
    return "ACTIVE" if host and device_id else "DOWN"
