"""Idempotent creates: a create repeated with the same ``Idempotency-Key`` by the same
project within the window returns the container the first one made.

The key is recorded before the container is made; the primary key lets one of
racing requests record it. The others wait for that request to name its
container, then answer with it. A key sent again with a different request is a
409, as is one whose container was deleted since. A create that fails forgets its
key, so that a retry may try again; one whose request died midway (its key never
named a container) is taken over after ``abandoned_after``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.idempotency import IdempotencyRepository
from dockyard.domain.clock import Clock
from dockyard.domain.errors import ContainerNotFound, IdempotencyKeyConflict
from dockyard.domain.idempotency import IdempotencyKey
from dockyard.domain.models import Container, RequestContext

LOG = logging.getLogger(__name__)

#: How often a request waiting for a racing one with its key looks again.
_POLL = 0.05


class IdempotentCreates:
    def __init__(
        self,
        keys: IdempotencyRepository,
        containers: ContainerRepository,
        window: dt.timedelta,
        clock: Clock,
        wait: float = 10.0,
        abandoned_after: dt.timedelta = dt.timedelta(seconds=60),
        sweep_every: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        self.keys = keys
        self.containers = containers
        self.window = window
        self.clock = clock
        self.wait = wait
        self.abandoned_after = abandoned_after
        self.sweep_every = sweep_every
        self._last_sweep: dt.datetime | None = None

    def create(
        self,
        ctx: RequestContext,
        key: str,
        fingerprint: str,
        make: Callable[[], Container],
    ) -> tuple[Container, bool]:
        """The container of ``key``, made by ``make`` unless an earlier request with the
        key made it; and whether it was (a replay)."""
        self._sweep()
        project = ctx.project_id
        deadline = self.clock.monotonic() + self.wait
        while True:
            seen = self.keys.claim(project, key, fingerprint)
            if seen is None:
                return self._make(project, key, make), False
            if self._expired(seen) or self._abandoned(seen):
                self.keys.forget(seen)
                continue
            if seen.fingerprint != fingerprint:
                raise IdempotencyKeyConflict(
                    f"Idempotency-Key {key!r} was already used with a different request "
                    "by this project; use a new key for a new container."
                )
            if seen.container_uuid is not None:
                return self._replay(seen), True
            if self.clock.monotonic() > deadline:
                raise IdempotencyKeyConflict(
                    f"A create with Idempotency-Key {key!r} is still in progress; "
                    "retry in a moment."
                )
            self.clock.sleep(_POLL)

    def _make(self, project: str, key: str, make: Callable[[], Container]) -> Container:
        try:
            container = make()
        except BaseException:
            seen = self.keys.get(project, key)
            if seen is not None and seen.container_uuid is None:
                self.keys.forget(seen)
            raise
        self.keys.settle(project, key, container.uuid)
        return container

    def _replay(self, seen: IdempotencyKey) -> Container:
        assert seen.container_uuid is not None
        try:
            return self.containers.get(seen.container_uuid, seen.project_id)
        except ContainerNotFound:
            raise IdempotencyKeyConflict(
                f"Idempotency-Key {seen.key!r} made container {seen.container_uuid}, "
                "which has been deleted since; use a new key for a new container."
            ) from None

    def _expired(self, seen: IdempotencyKey) -> bool:
        return self.clock.now() - seen.created_at >= self.window

    def _abandoned(self, seen: IdempotencyKey) -> bool:
        return (
            seen.container_uuid is None
            and self.clock.now() - seen.created_at >= self.abandoned_after
        )

    def _sweep(self) -> None:
        """Drop expired keys, at most once per ``sweep_every`` in this process."""
        now = self.clock.now()
        if self._last_sweep is not None and now - self._last_sweep < self.sweep_every:
            return
        self._last_sweep = now
        swept = self.keys.sweep(now - self.window)
        if swept:
            LOG.info("forgot %d idempotency keys older than %s", swept, self.window)
