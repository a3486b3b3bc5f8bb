"""Container records changing, told to the requests that wait for one to change.

A client waiting for a container to reach a state asks once with
``Prefer: wait=N`` instead of polling; its request sleeps on a ``ChangeFeed``
until the record is written. Writers call ``changed(uuid)`` after they commit.

A feed is *complete* when every writer of the database tells it: in the
all-in-one every write happens in the process, and in the cloud shape a
PostgreSQL listener relays the other processes' commits. An incomplete feed
(MariaDB, or the listener reconnecting) still wakes its waiters for the writes
it sees, and the waiters look again every ``fallback`` seconds for the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ChangeFeed:
    def __init__(self, complete: bool, max_waiters: int = 8, fallback: float = 0.25) -> None:
        self.complete = complete
        self.fallback = fallback
        self._max_waiters = max_waiters
        self._lock = threading.Lock()
        self._waiting: dict[str, set[threading.Event]] = {}
        self._count = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def watch(self, uuid: str) -> Iterator[threading.Event | None]:
        """An event set when ``uuid`` changes from now on; None when too many wait already.

        Watch before reading the record, so a write between the read and the
        wait is not missed.
        """
        event = threading.Event()
        with self._lock:
            if self._count >= self._max_waiters or self._closed:
                admitted = False
            else:
                admitted = True
                self._count += 1
                self._waiting.setdefault(uuid, set()).add(event)
        if not admitted:
            yield None
            return
        try:
            yield event
        finally:
            with self._lock:
                self._count -= 1
                events = self._waiting.get(uuid)
                if events is not None:
                    events.discard(event)
                    if not events:
                        del self._waiting[uuid]

    def timeout(self, remaining: float) -> float:
        """How long a waiter may sleep before it must look at the record again."""
        return remaining if self.complete else min(remaining, self.fallback)

    def changed(self, uuid: str) -> None:
        with self._lock:
            events = list(self._waiting.get(uuid, ()))
        for event in events:
            event.set()

    def changed_all(self) -> None:
        """Wake every waiter: notifications may have been missed (a listener reconnected)."""
        with self._lock:
            events = [e for group in self._waiting.values() for e in group]
        for event in events:
            event.set()

    def close(self) -> None:
        """Stop admitting waiters and wake those waiting (the process is stopping)."""
        self._closed = True
        self.changed_all()
