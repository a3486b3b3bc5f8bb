"""Login attempts per key in fixed windows, counted with one atomic upsert per attempt."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Connection, Table, case, delete, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite

from dockyard.db.models import LoginAttemptRow
from dockyard.db.session import Database

LA = cast(Table, LoginAttemptRow.__table__)


def _naive(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _count_one(conn: Connection, key: str, now: dt.datetime, cutoff: dt.datetime) -> None:
    """Insert the key with one attempt or, in the same statement, add one to its window
    (a new window when the stored one ended at ``cutoff`` or before)."""
    ended = LA.c.window_start <= cutoff
    # ``attempts`` before ``window_start``: MySQL applies assignments left to right
    # and the first CASE must see the old window_start.
    changes: list[tuple[str, Any]] = [
        ("attempts", case((ended, 1), else_=LA.c.attempts + 1)),
        ("window_start", case((ended, now), else_=LA.c.window_start)),
    ]
    row = {"key": key, "attempts": 1, "window_start": now}
    if conn.dialect.name in ("mysql", "mariadb"):
        conn.execute(mysql.insert(LA).values(row).on_duplicate_key_update(changes))
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(LA).values(row)
    conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_=dict(changes)))


class LoginAttemptRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def count(self, key: str, now: dt.datetime, window: dt.timedelta) -> tuple[int, dt.datetime]:
        """Count one attempt for ``key``: the attempts of its window so far, this one
        included, and the (naive UTC) start of that window.

        A window starts at the first attempt after the previous one ended. Counting is
        one upsert, so API processes counting at once never lose an attempt.
        """
        now = _naive(now)
        cutoff = now - window
        with self.db.write() as conn:
            _count_one(conn, key, now, cutoff)
            row = conn.execute(
                select(LA.c.attempts, LA.c.window_start).where(LA.c.key == key)
            ).one()
        attempts, started = int(row.attempts), row.window_start
        if attempts == 1:
            # Once per key and window: forget ended windows, so that random user
            # names cannot grow the table without bound.
            with self.db.write() as conn:
                conn.execute(delete(LA).where(LA.c.window_start <= cutoff))
        return attempts, started

    def forgive(self, key: str) -> None:
        """Take one attempt back (it succeeded, so it was no guess)."""
        with self.db.write() as conn:
            conn.execute(
                update(LA)
                .where(LA.c.key == key, LA.c.attempts > 0)
                .values(attempts=LA.c.attempts - 1)
            )

    def reset(self, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(LA).where(LA.c.key == key))
