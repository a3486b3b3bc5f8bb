"""The attempt limiter on a throwaway SQLite database, driven by an injected clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.db import migrate
from dockyard.db.repositories.login_attempts import LoginAttemptRepository
from dockyard.db.session import Database
from dockyard.service.ratelimit import AttemptLimiter
from tests.fakes.clock import FakeClock

START = dt.datetime(2030, 1, 2, 3, 4, 5)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[LoginAttemptRepository]:
    db = Database(f"sqlite:///{tmp_path / 'attempts.sqlite'}")
    migrate.upgrade(db)
    yield LoginAttemptRepository(db)
    db.dispose()


def limiter(repo: LoginAttemptRepository, clock: FakeClock, limit: int = 3) -> AttemptLimiter:
    return AttemptLimiter(repo, "user", limit, dt.timedelta(seconds=60), clock)


def test_blocks_after_limit_attempts_until_the_window_ends(repo: LoginAttemptRepository) -> None:
    clock = FakeClock(START)
    limited = limiter(repo, clock)
    for _ in range(3):
        assert limited.admit("alice") == 0
        clock.advance(10)
    # The window started at the first attempt (START) and ends at START + 60.
    assert limited.admit("alice") == 30
    assert limited.admit("bob") == 0
    clock.advance(29.5)
    assert limited.admit("alice") == 1
    clock.advance(0.5)
    assert limited.admit("alice") == 0  # a new window


def test_forgive_and_reset_give_attempts_back(repo: LoginAttemptRepository) -> None:
    clock = FakeClock(START)
    limited = limiter(repo, clock, limit=2)
    for _ in range(5):
        assert limited.admit("alice") == 0
        limited.forgive("alice")
    assert limited.admit("alice") == 0
    assert limited.admit("alice") == 0
    assert limited.admit("alice") > 0
    limited.reset("alice")
    assert limited.admit("alice") == 0


def test_scopes_are_separate_and_keys_are_not_stored_in_clear(
    repo: LoginAttemptRepository,
) -> None:
    clock = FakeClock(START)
    users = limiter(repo, clock, limit=1)
    addresses = AttemptLimiter(repo, "address", 1, dt.timedelta(seconds=60), clock)
    assert users.admit("10.0.0.1") == 0
    assert addresses.admit("10.0.0.1") == 0
    with repo.db.read() as conn:
        keys = [row[0] for row in conn.exec_driver_sql("SELECT key FROM login_attempts")]
    assert len(keys) == 2 and all(len(k) == 64 and "10.0.0.1" not in k for k in keys)


def test_ended_windows_are_forgotten(repo: LoginAttemptRepository) -> None:
    clock = FakeClock(START)
    limited = limiter(repo, clock)
    for i in range(50):
        limited.admit(f"random-{i}")
    clock.advance(61)
    limited.admit("fresh")
    with repo.db.read() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM login_attempts").scalar_one()
    assert count == 1
