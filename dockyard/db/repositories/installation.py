"""The installation's id and the agent process holding each host."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from dockyard.db.models import HostAgentRow, InstallationRow
from dockyard.db.repositories.hosts import _registration_race
from dockyard.db.session import Database
from dockyard.domain.clock import Clock
from dockyard.domain.host_agent import HostAgent

INSTALLATION = cast(Table, InstallationRow.__table__)
A = cast(Table, HostAgentRow.__table__)
_CLAIM_TRIES = 3


class InstallationRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or db.clock
        self._id: str | None = None

    def id(self) -> str:
        """The installation id (it never changes, so it is read once)."""
        if self._id is None:
            with self.db.read() as conn:
                found = conn.execute(select(INSTALLATION.c.id)).scalars().all()
            if len(found) != 1:
                raise RuntimeError(f"the installation table holds {len(found)} rows, not 1")
            self._id = str(found[0])
        return self._id

    def claim_host(self, agent: HostAgent, stale_after: float) -> HostAgent | None:
        """Take or renew ``agent.host`` for ``agent``; None when done.

        Another holder whose last renewal is younger than ``stale_after`` seconds
        keeps the host, and is returned. Writes are conditional on the row read,
        so two agents claiming together cannot both win.
        """
        for attempt in range(_CLAIM_TRIES):
            try:
                return self._claim(agent, stale_after)
            except (IntegrityError, OperationalError) as exc:
                # Another agent registered the host first (on MariaDB the race may
                # surface as a deadlock): read again, and compare with that holder.
                if attempt + 1 == _CLAIM_TRIES or not _registration_race(exc):
                    raise
        raise AssertionError("unreachable")

    def _claim(self, agent: HostAgent, stale_after: float) -> HostAgent | None:
        now = self.clock.now()
        values = {
            "token": agent.token,
            "machine": agent.machine,
            "pid": agent.pid,
            "description": agent.description[:512],
            "seen_at": now,
        }
        with self.db.write() as conn:
            row = conn.execute(select(A).where(A.c.host == agent.host)).first()
            if row is None:
                conn.execute(insert(A).values(host=agent.host, **values))
                return None
            fresh = now - row.seen_at < dt.timedelta(seconds=stale_after)
            if row.token != agent.token and fresh:
                return _holder(row)
            taken = conn.execute(
                update(A)
                .where(A.c.host == agent.host, A.c.token == row.token, A.c.seen_at == row.seen_at)
                .values(**values)
            ).rowcount
            if taken:
                return None
            again = conn.execute(select(A).where(A.c.host == agent.host)).first()
        return _holder(again) if again is not None else self._claim(agent, stale_after)

    def release_host(self, agent: HostAgent) -> None:
        """Give the host up (a clean stop), unless another agent holds it by now."""
        with self.db.write() as conn:
            conn.execute(delete(A).where(A.c.host == agent.host, A.c.token == agent.token))


def _holder(row: Row[Any]) -> HostAgent:
    return HostAgent(row.host, row.token, row.machine, row.pid, row.description)
