"""Container changes other processes commit, heard through PostgreSQL's LISTEN.

The API of the cloud shape does not write most changes itself: conductors
apply the agents' reports. Each such write also sends ``pg_notify`` in its
transaction (``ContainerRepository``), and this listener, one thread on its own
connection, passes every uuid it hears to the process's ``ChangeFeed``. While
it is not listening (start, lost connection) the feed is marked incomplete so
waiters fall back to looking now and then; on reconnecting it wakes them all,
since changes may have been missed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from dockyard.db.repositories.containers import CHANGES_CHANNEL
from dockyard.db.session import Database
from dockyard.domain.changes import ChangeFeed

LOG = logging.getLogger(__name__)

#: Seconds between two attempts to listen again after the connection was lost.
RETRY_AFTER = 2.0


class ChangeListener:
    def __init__(self, db: Database, feed: ChangeFeed) -> None:
        self.db = db
        self.feed = feed
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception as exc:  # the database went away: try again shortly
                LOG.warning("listening for container changes failed: %s", exc)
            self.feed.complete = False
            self._stopping.wait(RETRY_AFTER)

    def _listen(self) -> None:
        raw = self.db.engine.raw_connection()
        try:
            conn: Any = raw.driver_connection
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANGES_CHANNEL}")
            self.feed.complete = True
            self.feed.changed_all()
            while not self._stopping.is_set():
                for note in conn.notifies(timeout=1.0):
                    self.feed.changed(note.payload)
        finally:
            # Never back to the pool: it is LISTENing, and perhaps broken.
            raw.invalidate()
