"""Limiting login attempts per key, to slow down password guessing.

Attempts are counted in the database, so every API process shares one budget per
user and per client address; with N processes the limit stays what is configured,
not N times it. An attempt is counted before its password is checked, which makes
admission atomic: of many concurrent guesses only ``limit`` are checked at all. A
successful login takes its attempt back (``forgive``) or clears the key (``reset``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from dockyard.db.repositories.login_attempts import LoginAttemptRepository
from dockyard.domain.clock import Clock


class AttemptLimiter:
    """At most ``limit`` attempts per key in a window of ``window`` that starts at the
    key's first attempt; later ones wait until that window has ended."""

    def __init__(
        self,
        repo: LoginAttemptRepository,
        scope: str,
        limit: int,
        window: dt.timedelta,
        clock: Clock,
    ) -> None:
        self.repo = repo
        self.scope = scope
        self.limit = limit
        self.window = window
        self.clock = clock

    def _key(self, key: str) -> str:
        # Fixed length, and user names or addresses are not stored in clear.
        return hashlib.sha256(f"{self.scope}\0{key}".encode()).hexdigest()

    def admit(self, key: str) -> int:
        """Count an attempt for ``key``: 0 when it may go on, else the seconds to wait."""
        now = self.clock.now()
        attempts, started = self.repo.count(self._key(key), now, self.window)
        if attempts <= self.limit:
            return 0
        remaining = (started + self.window - now).total_seconds()
        return max(1, math.ceil(remaining))

    def forgive(self, key: str) -> None:
        self.repo.forgive(self._key(key))

    def reset(self, key: str) -> None:
        self.repo.reset(self._key(key))
