"""Security groups and their rules of the ``local`` network driver."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final, cast

from sqlalchemy import Connection, Row, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.db.models import PortSecurityGroupRow, SecurityGroupRow, SecurityGroupRuleRow
from dockyard.db.session import Database
from dockyard.domain.errors import (
    InvalidInput,
    SecurityGroupInUse,
    SecurityGroupNotFound,
    SecurityGroupRuleNotFound,
)
from dockyard.domain.security_groups import (
    Direction,
    EtherType,
    Protocol,
    SecurityGroup,
    SecurityGroupRule,
)

G = cast(Table, SecurityGroupRow.__table__)
R = cast(Table, SecurityGroupRuleRow.__table__)
PSG = cast(Table, PortSecurityGroupRow.__table__)

GROUP_UPDATABLE: Final = frozenset({"name", "description"})


def _rule(row: Row[Any]) -> SecurityGroupRule:
    return SecurityGroupRule(
        id=row.id,
        security_group_id=row.security_group_id,
        project_id=row.project_id,
        direction=Direction(row.direction),
        ethertype=EtherType(row.ethertype),
        protocol=None if row.protocol is None else Protocol(row.protocol),
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
        remote_group_id=row.remote_group_id,
        description=row.description,
    )


def _rule_values(rule: SecurityGroupRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "security_group_id": rule.security_group_id,
        "project_id": rule.project_id,
        "direction": rule.direction.value,
        "ethertype": rule.ethertype.value,
        "protocol": None if rule.protocol is None else rule.protocol.value,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id,
        "description": rule.description,
    }


class SecurityGroupRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_group(self, group: SecurityGroup, default_for: str | None = None) -> SecurityGroup:
        """Insert the group with its rules. With ``default_for`` this is that project's
        ``default`` group: when another transaction made it first, that one is returned."""
        now = self.db.clock.now()
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(G).values(
                        id=group.id,
                        project_id=group.project_id,
                        name=group.name,
                        description=group.description,
                        default_for=default_for,
                        created_at=now,
                    )
                )
                if group.rules:
                    conn.execute(
                        insert(R), [{**_rule_values(r), "created_at": now} for r in group.rules]
                    )
        except IntegrityError:
            if default_for is None:
                raise
            existing = self.default_group(default_for)
            if existing is None:
                raise
            return existing
        return self.get_group(group.id)

    def default_group(self, project_id: str) -> SecurityGroup | None:
        found = self._groups([G.c.default_for == project_id])
        return found[0] if found else None

    def _groups(self, where: Sequence[Any]) -> list[SecurityGroup]:
        with self.db.read() as conn:
            return self._read_groups(conn, where)

    @staticmethod
    def _read_groups(conn: Connection, where: Sequence[Any]) -> list[SecurityGroup]:
        rows = conn.execute(select(G).where(*where).order_by(G.c.created_at, G.c.id)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        rules: dict[str, list[SecurityGroupRule]] = {i: [] for i in ids}
        query = select(R).where(R.c.security_group_id.in_(ids)).order_by(R.c.created_at, R.c.id)
        for rule in conn.execute(query).all():
            rules[rule.security_group_id].append(_rule(rule))
        return [
            SecurityGroup(
                id=r.id,
                project_id=r.project_id,
                name=r.name,
                description=r.description,
                rules=tuple(rules[r.id]),
            )
            for r in rows
        ]

    def groups(self, visible_to: str | None = None, **equal: str) -> list[SecurityGroup]:
        """Groups of ``visible_to``'s project (all for ``None``), with their rules."""
        where = [] if visible_to is None else [G.c.project_id == visible_to]
        where += [G.c[column] == value for column, value in equal.items()]
        return self._groups(where)

    def groups_by_id(self, group_ids: Collection[str]) -> dict[str, SecurityGroup]:
        if not group_ids:
            return {}
        return {g.id: g for g in self._groups([G.c.id.in_(list(group_ids))])}

    def get_group(self, group_id: str) -> SecurityGroup:
        found = self._groups([G.c.id == group_id])
        if not found:
            raise SecurityGroupNotFound(f"Security group {group_id} does not exist.")
        return found[0]

    def update_group(self, group_id: str, values: Mapping[str, Any]) -> SecurityGroup:
        unknown = set(values) - GROUP_UPDATABLE
        if unknown:
            raise InvalidInput(
                f"Cannot update security group attribute(s) {', '.join(sorted(unknown))}."
            )
        with self.db.write() as conn:
            done = conn.execute(
                update(G).where(G.c.id == group_id).values(updated_at=self.db.clock.now(), **values)
            ).rowcount
        if not done:
            raise SecurityGroupNotFound(f"Security group {group_id} does not exist.")
        return self.get_group(group_id)

    def delete_group(self, group_id: str) -> None:
        """Remove the group and its rules; 409 while a port is a member or another
        group's rule names it as its remote group."""
        with self.db.write() as conn:
            members = conn.execute(
                select(func.count()).select_from(PSG).where(PSG.c.security_group_id == group_id)
            ).scalar_one()
            if members:
                raise SecurityGroupInUse(
                    f"Security group {group_id} in use: {members} port(s) are members of it."
                )
            referring = conn.execute(
                select(R.c.security_group_id).where(
                    R.c.remote_group_id == group_id, R.c.security_group_id != group_id
                )
            ).first()
            if referring is not None:
                raise SecurityGroupInUse(
                    f"Security group {group_id} in use: rules of security group "
                    f"{referring.security_group_id} name it as their remote group."
                )
            conn.execute(delete(R).where(R.c.security_group_id == group_id))
            if not conn.execute(delete(G).where(G.c.id == group_id)).rowcount:
                raise SecurityGroupNotFound(f"Security group {group_id} does not exist.")

    def add_rule(
        self, rule: SecurityGroupRule, check: Callable[[list[SecurityGroupRule]], None]
    ) -> SecurityGroupRule:
        """Insert ``rule`` after ``check`` passed on its group's rules, read (locked) in
        the same transaction (the duplicate check)."""
        with self.db.write() as conn:
            found = conn.execute(
                select(G.c.id).where(G.c.id == rule.security_group_id).with_for_update()
            ).first()
            if found is None:
                raise SecurityGroupNotFound(
                    f"Security group {rule.security_group_id} does not exist."
                )
            existing = conn.execute(
                select(R).where(R.c.security_group_id == rule.security_group_id)
            ).all()
            check([_rule(r) for r in existing])
            conn.execute(insert(R).values(**_rule_values(rule), created_at=self.db.clock.now()))
        return rule

    def rules(self, visible_to: str | None = None, **equal: str) -> list[SecurityGroupRule]:
        query = select(R)
        if visible_to is not None:
            query = query.where(R.c.project_id == visible_to)
        for column, value in equal.items():
            query = query.where(R.c[column] == value)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(R.c.created_at, R.c.id)).all()
        return [_rule(r) for r in rows]

    def get_rule(self, rule_id: str) -> SecurityGroupRule:
        found = self.rules(id=rule_id)
        if not found:
            raise SecurityGroupRuleNotFound(f"Security group rule {rule_id} does not exist.")
        return found[0]

    def delete_rule(self, rule_id: str) -> None:
        with self.db.write() as conn:
            if not conn.execute(delete(R).where(R.c.id == rule_id)).rowcount:
                raise SecurityGroupRuleNotFound(f"Security group rule {rule_id} does not exist.")
