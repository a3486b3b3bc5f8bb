"""Single-use, short-lived tickets for terminal sessions.

The API issues one per attach or interactive exec; the console proxy on the
container's host spends it when the client connects. Spending is one DELETE that
must match the token, the container, the exec and an unexpired deadline, so a
token works once, for that session only, and never after it expired.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import cast

from sqlalchemy import Table, delete, insert

from dockyard.db.models import ConsoleTokenRow
from dockyard.db.session import Database
from dockyard.domain.clock import Clock

CT = cast(Table, ConsoleTokenRow.__table__)


class ConsoleTokenRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or db.clock

    def issue(self, container_uuid: str, exec_id: str | None, ttl: dt.timedelta) -> str:
        """A new token for one session of ``container_uuid`` (or of its exec ``exec_id``)."""
        token = secrets.token_hex(32)
        now = self.clock.now()
        with self.db.write() as conn:
            # Tickets nobody used would otherwise pile up.
            conn.execute(delete(CT).where(CT.c.expires_at < now))
            conn.execute(
                insert(CT).values(
                    token=token,
                    container_uuid=container_uuid,
                    exec_id=exec_id,
                    expires_at=now + ttl,
                )
            )
        return token

    def spend(self, token: str, container_uuid: str, exec_id: str | None) -> bool:
        """Use the token up; whether it was valid for exactly this session."""
        exec_matches = CT.c.exec_id.is_(None) if exec_id is None else CT.c.exec_id == exec_id
        with self.db.write() as conn:
            spent = conn.execute(
                delete(CT).where(
                    CT.c.token == token,
                    CT.c.container_uuid == container_uuid,
                    exec_matches,
                    CT.c.expires_at >= self.clock.now(),
                )
            ).rowcount
        return bool(spent)
