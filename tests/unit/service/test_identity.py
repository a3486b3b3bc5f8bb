"""Local identity use cases on a throwaway SQLite database, with injected clocks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.db import migrate
from dockyard.db.repositories.identity import IdentityRepository
from dockyard.db.repositories.login_attempts import LoginAttemptRepository
from dockyard.db.session import Database
from dockyard.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from dockyard.service.identity import IdentityAdmin, IdentityService, Ref
from dockyard.service.passwords import PasswordHasher
from dockyard.service.ratelimit import AttemptLimiter
from dockyard.service.tokens import InvalidToken, TokenSigner
from tests.fakes.clock import FakeClock

START = dt.datetime(2030, 5, 6, 7, 8, 9)


class World:
    def __init__(self, db: Database) -> None:
        self.clock = FakeClock(START)
        self.repo = IdentityRepository(db)
        hasher = PasswordHasher(rounds=4)
        attempts, minute = LoginAttemptRepository(db), dt.timedelta(seconds=60)
        self.admin = IdentityAdmin(self.repo, hasher)
        self.tokens = IdentityService(
            self.repo,
            TokenSigner(b"s" * 32),
            hasher,
            dt.timedelta(hours=1),
            per_user=AttemptLimiter(attempts, "user", 3, minute, self.clock),
            per_address=AttemptLimiter(attempts, "address", 5, minute, self.clock),
            clock=self.clock,
        )
        self.admin.create_project("team-a")
        self.admin.create_project("team-b")
        self.admin.create_user("alice", "alice-pw", "team-a", "member")

    def login(self, user: str = "alice", password: str = "alice-pw", project: str = "team-a",
              address: str = "10.0.0.1") -> str:  # fmt: skip
        return self.tokens.authenticate(Ref(name=user), password, Ref(name=project), address).token


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    migrate.upgrade(db)
    yield World(db)
    db.dispose()


def test_authenticate_issues_a_project_scoped_token(world: World) -> None:
    issued = world.tokens.authenticate(
        Ref(name="alice"), "alice-pw", Ref(name="team-a"), "10.0.0.1"
    )
    info = world.tokens.validate(issued.token)
    assert info.user.name == "alice"
    assert info.project.name == "team-a"
    assert info.roles == ("member",)
    assert info.claims.expires_at == START.replace(tzinfo=dt.UTC) + dt.timedelta(hours=1)
    by_id = world.tokens.authenticate(
        Ref(id=info.user.id), "alice-pw", Ref(id=info.project.id), "10.0.0.1"
    )
    assert world.tokens.validate(by_id.token).user == info.user


@pytest.mark.parametrize(
    ("user", "password", "project"),
    [
        ("alice", "wrong", "team-a"),
        ("nobody", "alice-pw", "team-a"),
        ("alice", "alice-pw", "team-b"),  # no role there
        ("alice", "alice-pw", "no-such-project"),
    ],
)
def test_authenticate_refuses(world: World, user: str, password: str, project: str) -> None:
    with pytest.raises(InvalidToken):
        world.login(user, password, project)


def test_tokens_expire(world: World) -> None:
    token = world.login()
    world.clock.advance(59 * 60)
    world.tokens.validate(token)
    world.clock.advance(60)
    with pytest.raises(InvalidToken):
        world.tokens.validate(token)


def test_revocation_is_immediate_and_purged_after_expiry(world: World) -> None:
    token, other = world.login(), world.login()
    caller = world.tokens.validate(other)
    world.tokens.revoke(caller, token)
    with pytest.raises(InvalidToken):
        world.tokens.validate(token)
    world.tokens.validate(other)
    with pytest.raises(NotFound):
        world.tokens.revoke(caller, token)
    assert world.repo.purge_revoked(START) == 0
    assert world.repo.purge_revoked(START + dt.timedelta(hours=2)) == 1


def test_only_the_owner_or_an_admin_may_inspect_a_token(world: World) -> None:
    world.admin.create_user("bob", "bob-pw", "team-a", "member")
    world.admin.create_user("root", "root-pw", "team-b", "admin")
    alice = world.login()
    bob = world.tokens.validate(world.login("bob", "bob-pw"))
    root = world.tokens.validate(world.login("root", "root-pw", "team-b"))
    with pytest.raises(Forbidden):
        world.tokens.inspect(bob, alice)
    assert world.tokens.inspect(root, alice).user.name == "alice"


def test_losing_the_role_invalidates_tokens(world: World) -> None:
    token = world.login()
    assert world.admin.revoke_role("alice", "team-a", "member") is True
    assert world.admin.revoke_role("alice", "team-a", "member") is False
    with pytest.raises(InvalidToken):
        world.tokens.validate(token)


def test_brute_force_is_limited_per_user_name(world: World) -> None:
    for _ in range(3):
        with pytest.raises(InvalidToken):
            world.login(password="guess")
    with pytest.raises(TooManyRequests) as refused:
        world.login()  # even the right password, while blocked
    assert refused.value.fields["retry_after"] == 60
    world.clock.advance(61)
    world.login()


def test_successful_logins_do_not_use_up_the_address_budget(world: World) -> None:
    for _ in range(8):
        world.login(address="10.7.7.7")
    for i in range(5):
        with pytest.raises(InvalidToken):
            world.login(user=f"user-{i}", password="guess", address="10.7.7.7")
    with pytest.raises(TooManyRequests):
        world.login(address="10.7.7.7")


def test_disabling_a_user_refuses_logins_and_their_tokens_at_once(world: World) -> None:
    token = world.login()
    assert world.admin.set_enabled("alice", False).enabled is False
    with pytest.raises(InvalidToken) as refused:
        world.tokens.validate(token)
    with pytest.raises(InvalidToken) as wrong:
        world.login()
    with pytest.raises(InvalidToken) as unknown:
        world.login(user="nobody")
    # The same answer for a disabled user as for one that does not exist.
    assert str(wrong.value) == str(unknown.value)
    assert "no longer valid" in str(refused.value)
    world.admin.set_enabled("alice", True)
    world.tokens.validate(world.login())
    with pytest.raises(InvalidToken):
        world.tokens.validate(token)  # enabling again does not bring old tokens back


def test_a_new_password_invalidates_earlier_tokens(world: World) -> None:
    old = world.login()
    world.admin.set_password("alice", "new-pw")
    with pytest.raises(InvalidToken):
        world.tokens.validate(old)
    with pytest.raises(InvalidToken):
        world.login()
    world.tokens.validate(world.login(password="new-pw"))
    with pytest.raises(InvalidInput):
        world.admin.set_password("alice", "")
    with pytest.raises(NotFound):
        world.admin.set_password("nobody", "pw")


def test_deleting_users_and_projects(world: World) -> None:
    token = world.login()
    assert world.admin.delete_user("alice").name == "alice"
    with pytest.raises(InvalidToken):
        world.tokens.validate(token)
    with pytest.raises(InvalidToken):
        world.login()
    assert world.repo.assignments() == []
    with pytest.raises(NotFound):
        world.admin.delete_user("alice")
    world.admin.create_user("alice", "alice-pw", "team-a", "member")
    token = world.login()
    world.admin.delete_project("team-a")
    with pytest.raises(InvalidToken):
        world.tokens.validate(token)
    with pytest.raises(NotFound):
        world.admin.delete_project("team-a")
    assert [p.name for p in world.repo.projects()] == ["team-b"]


def test_brute_force_is_limited_per_address(world: World) -> None:
    for i in range(5):
        with pytest.raises(InvalidToken):
            world.login(user=f"user-{i}", password="guess", address="10.9.9.9")
    with pytest.raises(TooManyRequests):
        world.login(address="10.9.9.9")
    world.login(address="10.0.0.2")


def test_management_validates_and_reports_conflicts(world: World) -> None:
    with pytest.raises(Conflict):
        world.admin.create_project("team-a")
    with pytest.raises(Conflict):
        world.admin.create_user("alice", "x")
    with pytest.raises(InvalidInput):
        world.admin.create_user(" spaced", "x")
    with pytest.raises(InvalidInput):
        world.admin.create_user("carol", "")
    with pytest.raises(NotFound):
        world.admin.create_user("carol", "pw", "no-such-project")
    assert world.repo.user(name="carol") is None
    with pytest.raises(InvalidInput):
        world.admin.grant("alice", "team-b", "bad,role")
    assert world.admin.grant("alice", "team-b", "reader") is True
    assert world.admin.grant("alice", "team-b", "reader") is False
    [(user, roles)] = world.admin.users()
    assert user.name == "alice"
    assert sorted(roles) == [("team-a", "member"), ("team-b", "reader")]


def test_bootstrap_runs_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'boot.sqlite'}")
    migrate.upgrade(db)
    admin = IdentityAdmin(IdentityRepository(db), PasswordHasher(rounds=4))
    created = admin.bootstrap()
    assert created is not None
    assert len(created.password) >= 24
    assert admin.users()[0][1] == [("admin", "admin")]
    assert admin.bootstrap() is None
    db.dispose()
