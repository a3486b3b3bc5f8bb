"""IdempotentCreates over SQLite with a clock the test moves: replays, conflicts,
expiry, failures and abandoned creates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.db import migrate
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.idempotency import IdempotencyRepository
from dockyard.db.session import Database
from dockyard.domain.errors import Conflict, OverQuota
from dockyard.domain.models import Container
from dockyard.service.idempotency import IdempotentCreates
from tests.factories import CTX, container
from tests.fakes.clock import FakeClock

WINDOW = dt.timedelta(hours=24)


@dataclass
class World:
    now: FakeClock
    keys: IdempotencyRepository
    containers: ContainerRepository
    creates: IdempotentCreates
    made: list[Container]

    def make(self) -> Container:
        made = self.containers.create(container(project_id=CTX.project_id))
        self.made.append(made)
        return made


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'dockyard.sqlite'}")
    migrate.upgrade(db)
    now = FakeClock(db.clock.now())
    keys = IdempotencyRepository(db, now)
    containers = ContainerRepository(db)
    yield World(now, keys, containers, IdempotentCreates(keys, containers, WINDOW, now), [])
    db.dispose()


def test_a_repeat_returns_the_first_container(world: World) -> None:
    first, replayed = world.creates.create(CTX, "k", "f", world.make)
    assert replayed is False
    again, replayed = world.creates.create(CTX, "k", "f", world.make)
    assert replayed is True and again.uuid == first.uuid
    assert len(world.made) == 1


def test_the_same_key_with_another_request_is_a_conflict(world: World) -> None:
    world.creates.create(CTX, "k", "f", world.make)
    with pytest.raises(Conflict, match="different request"):
        world.creates.create(CTX, "k", "other", world.make)
    assert len(world.made) == 1


def test_a_key_is_new_again_after_the_window(world: World) -> None:
    first, _ = world.creates.create(CTX, "k", "f", world.make)
    world.now.advance(WINDOW.total_seconds() - 1)
    assert world.creates.create(CTX, "k", "f", world.make)[0].uuid == first.uuid
    world.now.advance(1)
    second, replayed = world.creates.create(CTX, "k", "other", world.make)
    assert replayed is False and second.uuid != first.uuid


def test_old_keys_are_swept(world: World) -> None:
    world.creates.create(CTX, "old", "f", world.make)
    world.now.advance(WINDOW.total_seconds() + 60)
    world.creates.create(CTX, "new", "f", world.make)
    assert world.keys.get(CTX.project_id, "old") is None
    assert world.keys.count() == 1


def test_a_failed_create_forgets_its_key(world: World) -> None:
    def refuse() -> Container:
        raise OverQuota("no room")

    with pytest.raises(OverQuota):
        world.creates.create(CTX, "k", "f", refuse)
    assert world.keys.count() == 0
    _, replayed = world.creates.create(CTX, "k", "f", world.make)
    assert replayed is False and len(world.made) == 1


def test_a_create_in_progress_is_waited_for_then_refused(world: World) -> None:
    assert world.keys.claim(CTX.project_id, "k", "f") is None  # another request, midway
    with pytest.raises(Conflict, match="still in progress"):
        world.creates.create(CTX, "k", "f", world.make)
    assert world.now.slept and sum(world.now.slept) > world.creates.wait
    assert world.made == []


def test_an_abandoned_create_is_taken_over(world: World) -> None:
    assert world.keys.claim(CTX.project_id, "k", "f") is None  # its request died
    world.now.advance(world.creates.abandoned_after.total_seconds())
    made, replayed = world.creates.create(CTX, "k", "f", world.make)
    assert replayed is False and made.uuid == world.made[0].uuid


def test_a_key_whose_container_was_deleted_is_a_conflict(world: World) -> None:
    first, _ = world.creates.create(CTX, "k", "f", world.make)
    assert world.containers.destroy(first.uuid)
    with pytest.raises(Conflict, match="deleted"):
        world.creates.create(CTX, "k", "f", world.make)
