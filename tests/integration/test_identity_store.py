"""Local identity on SQLite, PostgreSQL and MariaDB: users, grants, tokens, revocation."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from dockyard.db.repositories.identity import IdentityRepository
from dockyard.db.repositories.login_attempts import LoginAttemptRepository
from dockyard.db.session import Database
from dockyard.domain.errors import Conflict, NotFound
from dockyard.service.identity import IdentityAdmin, IdentityService, Ref
from dockyard.service.passwords import PasswordHasher
from dockyard.service.ratelimit import AttemptLimiter
from dockyard.service.tokens import InvalidToken, TokenSigner
from tests.fakes.clock import FakeClock
from tests.integration import test_repositories as repos

db = repos.db
in_parallel = repos.in_parallel


def services(db: Database) -> tuple[IdentityAdmin, IdentityService]:
    repo, hasher = IdentityRepository(db), PasswordHasher(rounds=4)
    attempts, minute = LoginAttemptRepository(db), dt.timedelta(seconds=60)

    def limiter(scope: str) -> AttemptLimiter:
        return AttemptLimiter(attempts, scope, 100, minute, db.clock)

    tokens = IdentityService(
        repo, TokenSigner(secrets.token_bytes(32)), hasher, dt.timedelta(hours=1),
        limiter("user"), limiter("address"), db.clock,
    )  # fmt: skip
    return IdentityAdmin(repo, hasher), tokens


def test_users_grants_and_tokens_round_trip(db: Database) -> None:
    admin, identity = services(db)
    admin.create_project("team-a")
    admin.create_project("team-b")
    admin.create_user("alice", "alice-pw", "team-a", "member")
    assert admin.grant("alice", "team-a", "reader") is True
    assert admin.grant("alice", "team-a", "reader") is False  # already granted

    issued = identity.authenticate(Ref(name="alice"), "alice-pw", Ref(name="team-a"), "1.2.3.4")
    info = identity.validate(issued.token)
    assert info.project.name == "team-a"
    assert set(info.roles) == {"member", "reader"}
    with pytest.raises(InvalidToken):
        identity.authenticate(Ref(name="alice"), "alice-pw", Ref(name="team-b"), "1.2.3.4")
    with pytest.raises(InvalidToken):
        identity.authenticate(Ref(name="alice"), "wrong", Ref(name="team-a"), "1.2.3.4")

    identity.revoke(info, issued.token)
    with pytest.raises(InvalidToken):
        identity.validate(issued.token)
    listed = {user.name: roles for user, roles in admin.users()}
    assert sorted(listed["alice"]) == [("team-a", "member"), ("team-a", "reader")]


def test_names_are_unique_even_when_created_concurrently(db: Database) -> None:
    admin, _ = services(db)
    admin.create_project("shared")

    def create(i: int) -> str:
        try:
            admin.create_user("bob", f"pw-{i}", "shared", "member")
        except Conflict:
            return "conflict"
        return "created"

    outcomes = in_parallel(6, create)
    assert outcomes.count("created") == 1
    assert [u.name for u, _ in admin.users()].count("bob") == 1
    with pytest.raises(NotFound):
        admin.grant("nobody", "shared", "member")


def test_concurrent_login_attempts_are_each_counted_once(db: Database) -> None:
    attempts = LoginAttemptRepository(db)
    clock, minute = (
        FakeClock(dt.datetime.now(dt.UTC).replace(tzinfo=None)),
        dt.timedelta(seconds=60),
    )
    now = clock.now()
    # New keys (an insert race) and one shared key (an update race) at once.
    counted = in_parallel(40, lambda i: attempts.count("shared" if i % 2 else f"k{i}", now, minute))
    assert sorted(n for i, (n, _) in enumerate(counted) if i % 2) == list(range(1, 21))
    assert all(n == 1 for i, (n, _) in enumerate(counted) if not i % 2)
    limiter = AttemptLimiter(attempts, "user", 5, minute, clock)
    admitted = in_parallel(20, lambda i: limiter.admit("alice"))
    assert admitted.count(0) == 5
    assert all(1 <= wait <= 60 for wait in admitted if wait)
    clock.advance(2 * minute.total_seconds())
    later = AttemptLimiter(attempts, "user", 5, minute, clock)
    assert later.admit("alice") == 0
