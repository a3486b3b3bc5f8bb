"""The database layer on SQLite, PostgreSQL and MariaDB: migrations, claims, guarded updates."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dockyard.db import migrate
from dockyard.db.models import Base
from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.console_tokens import ConsoleTokenRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.repositories.idempotency import IdempotencyRepository
from dockyard.db.repositories.images import ImageRepository
from dockyard.db.repositories.installation import InstallationRepository
from dockyard.db.repositories.registries import EVERYWHERE, RegistryRepository, Scope
from dockyard.db.session import Database
from dockyard.domain.container_request import (
    CpuPolicy,
    ExposedPort,
    Healthcheck,
    Protocol,
    PullPolicy,
    RestartPolicy,
    RestartPolicyName,
)
from dockyard.domain.errors import (
    Conflict,
    ContainerNotFound,
    ImageAlreadyExists,
    ImageNotFound,
    InvalidParameterValue,
    RegistryNotFound,
)
from dockyard.domain.host_agent import HostAgent
from dockyard.domain.image_records import (
    ImageRecord,
    ImageStatus,
    ImageUse,
    LocalImage,
    PullProgress,
)
from dockyard.domain.models import ActionEvent, Container, ContainerAction, Host
from dockyard.domain.registries import Registry
from dockyard.domain.reports import ContainerChange, RuntimeFields
from dockyard.domain.states import Status, TaskState
from dockyard.observability.context import RequestScope, bound
from dockyard.service.sweeper import DownHostSweeper
from tests.factories import container, host_inventory
from tests.fakes.clock import FakeClock
from tests.support.databases import fresh_database


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'dockyard.sqlite'}"
        else:
            url = stack.enter_context(fresh_database(request.param))
        database = Database(url)
        migrate.upgrade(database)
        yield database
        database.dispose()


def record(**fields: Any) -> Container:
    return container(
        **{"name": "c", "project_id": "p", "user_id": "u", "image": "busybox", **fields}
    )


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert migrate.current(db) == "0016_network_segments"


def test_host_services_switches_paging_and_zones(db: Database) -> None:
    now = FakeClock(dt.datetime(2026, 1, 1, 12, 0, 0))
    hosts = HostRepository(db, dt.timedelta(seconds=25), clock=now)
    for name, memory in (("b", 3000), ("a", 1000), ("c", 2000)):
        hosts.report(name, {**host_inventory(cpu=1.0, memory=memory), "availability_zone": "z1"})
    hosts.report("a", {**host_inventory(cpu=1.0, memory=1000), "availability_zone": "z0"})
    assert [(h.name, h.report_count) for h in hosts.services()] == [("b", 1), ("a", 2), ("c", 1)]
    assert hosts.zones(10) == ["z0", "z1"] and hosts.zones(1) == ["z0"]
    ContainerRepository(db).create_claimed(record(), "c")

    first = hosts.page(2, None, "mem_total", "desc")
    assert [h.name for h in first] == ["b", "c"] and first[1].containers == 1
    assert [h.name for h in hosts.page(2, first[-1].uuid, "mem_total", "desc")] == ["a"]
    assert [h.name for h in hosts.page(5, None)] == ["a", "b", "c"]
    found = hosts.find(first[1].uuid)
    assert found is not None and found.name == "c" and found.containers == 1
    assert hosts.find("a") is not None and hosts.find("zz") is None

    now.advance(26)
    assert hosts.heartbeat("a") is True
    assert [h.name for h in hosts.all() if h.up] == ["a"]
    assert hosts.set_switches("a", forced_down=True, enabled=False, disabled_reason="r")
    a = hosts.get("a")
    assert a is not None and (a.up, a.enabled, a.disabled_reason) == (False, False, "r")
    assert a.updated_at == now.at
    assert hosts.set_switches("zz", enabled=True) is False
    assert hosts.delete("b") is True and hosts.delete("b") is False
    assert [h.name for h in hosts.services()] == ["a", "c"]


def test_agents_registering_at_once_all_register(db: Database) -> None:
    # Twelve first reports of four new hosts at once: on MariaDB the update's gap
    # locks deadlock the inserts; the same name twice collides on its unique key.
    hosts = HostRepository(db, dt.timedelta(minutes=1))

    def register(i: int) -> bool:
        hosts.report(f"h{i % 4}", host_inventory(cpu=1.0, memory=1000))
        return True

    assert in_parallel(12, register) == [True] * 12
    registered = hosts.all()
    assert [h.name for h in registered] == ["h0", "h1", "h2", "h3"]
    assert sum(h.report_count for h in registered) == 12


def test_concurrent_claims_never_exceed_capacity(db: Database) -> None:
    hosts = HostRepository(db, dt.timedelta(minutes=1))
    hosts.report("h1", host_inventory(cpu=5.0, memory=10_000))
    repo = ContainerRepository(db)
    created = in_parallel(16, lambda i: repo.create_claimed(record(name=f"c{i}", cpu=0.5), "h1"))
    winners = [c for c in created if c is not None]
    assert len(winners) == 10
    host = hosts.get("h1")
    assert host is not None and host.cpu_used == pytest.approx(5.0)
    assert repo.count() == 10


def test_concurrent_disk_claims_take_exactly_the_disk_there_is(db: Database) -> None:
    hosts = HostRepository(db, dt.timedelta(minutes=1))
    hosts.report("h1", {**host_inventory(cpu=100.0, memory=100_000), "disk_gib": 10})
    repo = ContainerRepository(db)
    created = in_parallel(
        16, lambda i: repo.create_claimed(record(name=f"c{i}", disk=3, cpu=0.1), "h1")
    )
    winners = [c for c in created if c is not None]
    assert len(winners) == 3
    host = hosts.get("h1")
    assert host is not None and host.disk_used == 9
    assert repo.count() == 3
    # CPU and memory were claimed only by the winners: a refused claim changes nothing.
    assert host.cpu_used == pytest.approx(0.3) and host.memory_used == 3 * 64

    assert repo.create_claimed(record(disk=2), "h1") is None
    assert repo.create_claimed(record(disk=1), "h1") is not None, "exactly full fits"
    assert repo.create_claimed(record(), "h1") is not None, "no disk asked, none needed"
    assert repo.release_claim(winners[0].uuid) is True
    host = hosts.get("h1")
    assert host is not None and host.disk_used == 7
    assert repo.create_claimed(record(disk=3), "h1") is not None


def test_release_is_idempotent_and_destroy_gives_resources_back(db: Database) -> None:
    hosts = HostRepository(db, dt.timedelta(minutes=1))
    hosts.report("h1", host_inventory(cpu=4.0, memory=1000))
    repo = ContainerRepository(db)
    kept = repo.create_claimed(record(memory=100), "h1")
    gone = repo.create_claimed(record(memory=200), "h1")
    assert kept is not None and gone is not None
    assert repo.release_claim(kept.uuid) is True
    assert repo.release_claim(kept.uuid) is False
    actions = ActionRepository(db)
    actions.start(ContainerAction("create", gone.uuid, "req-1", "u", "p", dt.datetime(2026, 1, 1)))
    assert repo.destroy(gone.uuid) is True
    host = hosts.get("h1")
    assert host is not None and (host.memory_used, host.cpu_used) == (0, 0.0)
    assert actions.for_container(gone.uuid) == []


def test_only_one_of_two_concurrent_reservations_wins(db: Database) -> None:
    repo = ContainerRepository(db)
    container = repo.create(record(status=Status.RUNNING))
    results = in_parallel(
        6,
        lambda i: repo.update(
            container.uuid,
            {"task_state": TaskState.CONTAINER_STOPPING},
            status_in={Status.RUNNING},
            expect=None,
        ),
    )
    assert sum(r is not None for r in results) == 1
    moved = repo.update(container.uuid, {"status": Status.STOPPED}, status_in={Status.PAUSED})
    assert moved is None


def test_lookup_by_name_scope_and_ambiguity(db: Database) -> None:
    repo = ContainerRepository(db)
    mine = repo.create(record(name="web", project_id="p1"))
    assert repo.get("web", "p1").uuid == mine.uuid
    with pytest.raises(ContainerNotFound):
        repo.get("web", "p2")
    repo.create(record(name="web", project_id="p1"))
    with pytest.raises(Conflict):
        repo.get("web", "p1")


def test_the_typed_request_values_round_trip(db: Database) -> None:
    repo = ContainerRepository(db)
    typed = record(
        command=("sh", "-c", "echo 'hi there'"),
        entrypoint=(),
        image_pull_policy=PullPolicy.NEVER,
        cpu_policy=CpuPolicy.DEDICATED,
        restart_policy=RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
        healthcheck=Healthcheck("true", interval=0, timeout=3),
        exposed_ports=(ExposedPort(53, Protocol.UDP), ExposedPort(80)),
    )
    repo.create(typed)
    found = repo.get(typed.uuid)
    assert dataclasses.replace(found, id=None, created_at=None, updated_at=None) == typed
    plain = repo.create(record())
    assert repo.get(plain.uuid).exposed_ports == ()
    assert repo.get(plain.uuid).cpu_policy is CpuPolicy.SHARED


def test_rows_in_the_stored_forms_of_earlier_releases_read_typed(db: Database) -> None:
    repo = ContainerRepository(db)
    made = repo.create(record())
    with db.write() as conn:
        conn.execute(
            sa.text(
                "UPDATE containers SET restart_policy = :policy, cpu_policy = NULL, "
                "image_pull_policy = 'IfNotPresent' WHERE uuid = :uuid"
            ),
            {"policy": '{"Name": "on-failure", "MaximumRetryCount": "2"}', "uuid": made.uuid},
        )
    found = repo.get(made.uuid)
    assert found.restart_policy == RestartPolicy(RestartPolicyName.ON_FAILURE, 2)
    assert found.cpu_policy is CpuPolicy.SHARED
    assert found.image_pull_policy is PullPolicy.IF_NOT_PRESENT


def test_paging_with_marker_and_sort(db: Database) -> None:
    repo = ContainerRepository(db)
    for name in ["b", "a", "c", "a"]:
        repo.create(record(name=name))
    first = repo.page(project_id="p", filters={}, limit=2, sort_key="name", sort_dir="asc")
    rest = repo.page(
        project_id="p",
        filters={},
        limit=5,
        marker=first[-1].uuid,
        sort_key="name",
        sort_dir="asc",
    )
    assert [c.name for c in first + rest] == ["a", "a", "b", "c"]
    assert len({c.uuid for c in first + rest}) == 4


def test_action_events_close_the_action(db: Database) -> None:
    repo, actions = ContainerRepository(db), ActionRepository(db)
    container = repo.create(record())
    started = dt.datetime(2026, 1, 1, 12, 0, 0)
    actions.start(ContainerAction("stop", container.uuid, "req-9", "u", "p", started))
    event = ActionEvent("compute__do_container_stop", started, started, "Error", "trace")
    actions.record_event(container.uuid, "req-9", event, finish_action=True)
    action, events = actions.get(container.uuid, "req-9")
    assert action.message == "Error" and action.finish_time == started
    assert events == [event]


def test_registries_are_scoped_paged_and_guarded(db: Database) -> None:
    repo = RegistryRepository(db)

    def add(name: str | None, project: str, user: str = "u") -> Registry:
        return repo.create(
            Registry(
                uuid=str(uuid.uuid4()),
                name=name,
                domain=f"{name or 'anon'}.example:5000",
                username="robot",
                secret="sealed-" + (name or ""),
                project_id=project,
                user_id=user,
            )
        )

    a1, a2, anon, b1 = add("one", "A"), add("two", "A"), add(None, "A", "u2"), add("one", "B")
    in_a, in_b = Scope(project_id="A"), Scope(project_id="B")

    assert repo.get(a1.uuid, in_a) == a1 and a1.secret == "sealed-one"
    assert repo.get("one", in_a).uuid == a1.uuid and repo.get("one", in_b).uuid == b1.uuid
    for ident in (b1.uuid, "nothing"):
        with pytest.raises(RegistryNotFound):
            repo.get(ident, in_a)
    with pytest.raises(Conflict):
        repo.get("one", EVERYWHERE)
    assert repo.get(anon.uuid, Scope(user_id="u2")).uuid == anon.uuid
    with pytest.raises(RegistryNotFound):
        repo.get(anon.uuid, Scope(user_id="u"))

    assert [r.uuid for r in repo.page(in_a, {}, 10)] == [a1.uuid, a2.uuid, anon.uuid]
    assert len(repo.page(EVERYWHERE, {}, 10)) == 4
    assert [r.uuid for r in repo.page(EVERYWHERE, {"name": "one"}, 10)] == [a1.uuid, b1.uuid]
    assert repo.page(in_b, {"domain": "two.example:5000"}, 10) == []
    # NULL names first ascending, last descending, on every database; paging resumes.
    by_name = [r.uuid for r in repo.page(in_a, {}, 10, sort_key="name")]
    assert by_name == [anon.uuid, a1.uuid, a2.uuid]
    desc = [r.uuid for r in repo.page(in_a, {}, 10, sort_key="name", sort_dir="desc")]
    assert desc == [a2.uuid, a1.uuid, anon.uuid]
    for sort_dir, expected in (("asc", by_name), ("desc", desc)):
        seen: list[str] = []
        marker = None
        while page := repo.page(in_a, {}, 1, marker, "name", sort_dir):
            seen.append(page[0].uuid)
            marker = page[0].uuid
        assert seen == expected
    with pytest.raises(RegistryNotFound):
        repo.page(in_a, {}, 10, marker=b1.uuid)
    with pytest.raises(InvalidParameterValue):
        repo.page(in_a, {}, 10, sort_key="password")

    changed = repo.update(a2.uuid, {"username": None, "secret": "sealed-new"})
    assert changed.username is None and changed.secret == "sealed-new" and changed.name == "two"
    assert changed.updated_at is not None

    ContainerRepository(db).create(record(registry_id=a1.uuid))
    with pytest.raises(Conflict, match="used by 1 container"):
        repo.delete(a1.uuid)
    assert repo.get(a1.uuid, in_a).uuid == a1.uuid
    repo.delete(a2.uuid)
    with pytest.raises(RegistryNotFound):
        repo.delete(a2.uuid)


def test_creates_stranded_on_a_down_host_end_in_error(db: Database) -> None:
    now = FakeClock(db.clock.now() - dt.timedelta(minutes=10))
    hosts = HostRepository(db, dt.timedelta(seconds=30), clock=now)
    hosts.report("dead", host_inventory(cpu=4.0, memory=4000))  # its last heartbeat
    now.at = db.clock.now()
    hosts.report("alive", host_inventory(cpu=4.0, memory=4000))
    repo = ContainerRepository(db)
    creating = {"task_state": TaskState.CONTAINER_CREATING}

    def on(host: str, **fields: Any) -> Container:
        made = repo.create_claimed(record(name=host, **fields), host)
        assert made is not None
        return made

    stranded = on("dead", **creating)
    pulling = on("dead", task_state=TaskState.IMAGE_PULLING)
    on("alive", **creating)
    on("dead", status=Status.RUNNING)  # exists: its agent settles it when it returns
    on("dead", status=Status.RUNNING, task_state=TaskState.CONTAINER_STOPPING)
    taken = on("dead", **creating)

    window = dt.timedelta(minutes=2)
    sweeper = DownHostSweeper(repo, hosts, window, clock=now)
    assert sweeper.run() == []  # every record is younger than the window

    now.advance((window + dt.timedelta(seconds=1)).total_seconds())
    repo.update(taken.uuid, {"task_state": TaskState.CONTAINER_DELETING})  # a delete won
    hosts.heartbeat("alive")
    swept = sweeper.run()

    assert sorted(s.uuid for s in swept) == sorted([stranded.uuid, pulling.uuid])
    for uuid_ in (stranded.uuid, pulling.uuid):
        ended = repo.find(uuid_)
        assert ended is not None and ended.status is Status.ERROR and ended.task_state is None
        assert ended.status_reason is not None and "Host dead went down" in ended.status_reason
        assert not ended.claimed
    dead = hosts.get("dead")
    assert dead is not None and dead.cpu_used == pytest.approx(1.5)  # three records still hold
    assert sweeper.run() == []  # once only


def test_the_sweeper_judges_no_host_until_heartbeats_could_land(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after it starts, and after a pass the database refused, every host looks
    down to the conductor (the heartbeats meanwhile went nowhere): a stranded-looking
    create is ended only once ``grace`` has passed without a failure (found by
    tests/faults: creates ended as 'host went down' after a database outage)."""
    now = FakeClock(db.clock.now() - dt.timedelta(minutes=10))
    hosts = HostRepository(db, dt.timedelta(seconds=30), clock=now)
    hosts.report("quiet", host_inventory(cpu=4.0, memory=4000))
    repo = ContainerRepository(db)
    made = repo.create_claimed(record(name="c1", task_state=TaskState.CONTAINER_CREATING), "quiet")
    assert made is not None
    now.at = db.clock.now() + dt.timedelta(minutes=5)
    grace = dt.timedelta(seconds=30)
    sweeper = DownHostSweeper(repo, hosts, dt.timedelta(minutes=2), clock=now, grace=grace)
    assert sweeper.run() == []  # just started

    now.advance(31)
    real_all = hosts.all
    monkeypatch.setattr(hosts, "all", lambda: (_ for _ in ()).throw(OSError("db down")))
    with pytest.raises(OSError):
        sweeper.run()
    monkeypatch.setattr(hosts, "all", real_all)
    now.advance(29)
    assert sweeper.run() == []  # 29 s after the failed pass

    def hanging() -> list[Host]:
        now.advance(10)  # a connection that waited for the database to come back
        return real_all()

    now.advance(2)
    monkeypatch.setattr(hosts, "all", hanging)
    assert sweeper.run() == []
    monkeypatch.setattr(hosts, "all", real_all)
    now.advance(29)
    assert sweeper.run() == []  # 29 s after the slow read
    now.advance(2)
    assert [s.uuid for s in sweeper.run()] == [made.uuid]


def test_a_guarded_change_and_its_action_land_together(db: Database) -> None:
    hosts = HostRepository(db, dt.timedelta(minutes=1))
    hosts.report("h1", host_inventory(cpu=4.0, memory=4000))
    repo, actions = ContainerRepository(db), ActionRepository(db)

    def opening(name: str, uuid_: str) -> ContainerAction:
        return ContainerAction(
            action=name,
            container_uuid=uuid_,
            request_id=f"req-{name}",
            user_id="u",
            project_id="p",
            start_time=db.clock.now(),
        )

    made = record(status=Status.RUNNING)
    created = repo.create_claimed(made, "h1", opening("create", made.uuid))
    assert created is not None
    stopping = {"task_state": TaskState.CONTAINER_STOPPING}

    changed = repo.update(made.uuid, stopping, expect=None, action=opening("stop", made.uuid))
    refused = repo.update(made.uuid, stopping, expect=None, action=opening("kill", made.uuid))

    assert changed is not None and changed.task_state is TaskState.CONTAINER_STOPPING
    assert changed.name == made.name and changed.memory == made.memory  # the whole row back
    assert refused is None
    assert [a.action for a in actions.for_container(made.uuid)] == ["stop", "create"]


def test_a_report_and_its_event_land_together(db: Database) -> None:
    hosts = HostRepository(db, dt.timedelta(minutes=1))
    hosts.report("h1", host_inventory(cpu=4.0, memory=4000))
    repo, actions = ContainerRepository(db), ActionRepository(db)
    made = record(task_state=TaskState.CONTAINER_CREATING)
    opened = ContainerAction("create", made.uuid, "req-c", "u", "p", start_time=db.clock.now())
    assert repo.create_claimed(made, "h1", opened) is not None
    at = db.clock.now()
    done = ActionEvent("compute__do_container_create", at, at, "Success")
    running = ContainerChange(Status.RUNNING, task=None)

    stale = repo.apply(
        made.uuid, running, expect=TaskState.IMAGE_PULLING, event=("req-c", done, True)
    )
    applied = repo.apply(
        made.uuid, running, expect=TaskState.CONTAINER_CREATING, event=("req-c", done, True)
    )

    assert (stale, applied) == (False, True)
    action, events = actions.get(made.uuid, "req-c")
    assert [e.event for e in events] == ["compute__do_container_create"]  # once
    assert action.finish_time is not None and action.message is None


def test_a_typed_change_is_stored_as_its_types(db: Database) -> None:
    repo = ContainerRepository(db)
    made = repo.create(record(task_state=TaskState.CONTAINER_STARTING, status_reason="old"))
    started = dt.datetime(2025, 3, 4, 5, 6, 7)  # MySQL keeps whole seconds
    seen = RuntimeFields("abc", "Up 1 second", None, 2, "web-1", (80, 443), started, None)
    observed = ContainerChange(Status.RUNNING, None, None, seen)

    assert repo.apply(made.uuid, observed, expect=None) is False  # a task is in flight
    assert repo.apply(made.uuid, observed, expect=TaskState.CONTAINER_STARTING) is True
    got = repo.get(made.uuid)
    assert (got.status, got.task_state, got.status_reason) == (Status.RUNNING, None, None)
    assert (got.runtime_id, got.status_detail, got.restart_count) == ("abc", "Up 1 second", 2)
    assert (got.hostname, got.ports, got.started_at) == ("web-1", [80, 443], started)

    # A reason alone, unguarded: status, task and runtime fields stay.
    assert repo.apply(made.uuid, ContainerChange(reason="resize failed")) is True
    again = repo.get(made.uuid)
    assert (again.status, again.status_reason, again.runtime_id) == (
        Status.RUNNING,
        "resize failed",
        "abc",
    )


# -- console tokens ---------------------------------------------------------------


def test_a_console_token_works_once_for_its_own_session_only(db: Database) -> None:
    tokens = ConsoleTokenRepository(db)
    minute = dt.timedelta(minutes=1)
    attach = tokens.issue("c-1", None, minute)
    exec_token = tokens.issue("c-1", "e" * 64, minute)

    assert len({attach, exec_token}) == 2 and len(attach) == 64
    assert not tokens.spend(attach, "c-2", None)
    assert not tokens.spend(attach, "c-1", "e" * 64)
    assert not tokens.spend(exec_token, "c-1", None)
    assert not tokens.spend(exec_token, "c-1", "f" * 64)
    assert not tokens.spend("not-issued", "c-1", None)
    assert tokens.spend(attach, "c-1", None)
    assert not tokens.spend(attach, "c-1", None)
    assert tokens.spend(exec_token, "c-1", "e" * 64)


def test_an_expired_console_token_is_refused_and_pruned(db: Database) -> None:
    now = FakeClock(db.clock.now())
    tokens = ConsoleTokenRepository(db, clock=now)
    late = tokens.issue("c-1", None, dt.timedelta(seconds=30))
    now.advance(31)
    assert not tokens.spend(late, "c-1", None)

    tokens.issue("c-1", None, dt.timedelta(seconds=30))
    with db.read() as conn:
        left = conn.execute(sa.text("SELECT token FROM console_tokens")).scalars().all()
    assert late not in left and len(left) == 1


def test_concurrent_spends_of_one_console_token_admit_exactly_one(db: Database) -> None:
    tokens = ConsoleTokenRepository(db)
    token = tokens.issue("c-1", None, dt.timedelta(minutes=1))
    admitted = in_parallel(8, lambda _: tokens.spend(token, "c-1", None))
    assert admitted.count(True) == 1, admitted


def test_the_installation_id_is_one_per_database(db: Database) -> None:
    first = InstallationRepository(db).id()
    assert uuid.UUID(first)
    migrate.upgrade(db)
    assert InstallationRepository(db).id() == first


def test_host_claims_are_exclusive_until_they_lapse(db: Database) -> None:
    now = FakeClock(dt.datetime(2026, 1, 1, 12, 0, 0))
    repo = InstallationRepository(db, clock=now)
    agents = [HostAgent("node-1", f"t-{i}", "m1", 100 + i, f"agent {i}") for i in range(6)]

    # Agents starting together: exactly one wins, every other is told who.
    results = in_parallel(len(agents), lambda i: repo.claim_host(agents[i], 30.0))
    winners = [a for a, held in zip(agents, results, strict=True) if held is None]
    assert len(winners) == 1
    assert {held for held in results if held is not None} == {winners[0]}

    loser = next(a for a in agents if a != winners[0])
    now.advance(20)
    assert repo.claim_host(winners[0], 30.0) is None  # renewed
    now.advance(20)
    assert repo.claim_host(loser, 30.0) == winners[0]  # renewed 20 s ago: still live
    now.advance(31)
    assert repo.claim_host(loser, 30.0) is None  # lapsed: taken over
    repo.release_host(winners[0])  # the old holder's release no longer counts
    assert repo.claim_host(winners[0], 30.0) == loser
    repo.release_host(loser)
    assert repo.claim_host(winners[0], 30.0) is None


def test_image_records_are_scoped_paged_reported_and_synced(db: Database) -> None:
    clock = FakeClock(dt.datetime(2026, 1, 1, 12, 0, 0))
    db.clock = clock
    repo = ImageRepository(db)

    def pull(name: str, project: str | None, host: str = "h1", tag: str = "1") -> ImageRecord:
        return repo.create(
            ImageRecord(str(uuid.uuid4()), name, tag, host, project_id=project, user_id="u")
        )

    a1, a2, b1 = pull("app", "A"), pull("zz/web", "A"), pull("app", "B", host="h2")
    assert (a1.status, a1.image_id, a1.progress) == (ImageStatus.PULLING, None, None)
    with pytest.raises(ImageAlreadyExists):
        pull("app", "B")  # same repo:tag:host, whatever the project
    assert repo.get(a1.uuid, "A") == a1 and repo.get(b1.uuid, None) == b1
    for ident, project in ((b1.uuid, "A"), ("not-a-uuid", None), (str(uuid.uuid4()), None)):
        with pytest.raises(ImageNotFound):
            repo.get(ident, project)

    # Paging: scoped, sorted (NULL-safe), resumable from a marker, in both directions.
    assert [i.uuid for i in repo.page("A", 10)] == [a1.uuid, a2.uuid]
    assert [i.uuid for i in repo.page(None, 10)] == [a1.uuid, a2.uuid, b1.uuid]
    desc = [i.uuid for i in repo.page(None, 10, sort_key="repo", sort_dir="desc")]
    assert desc == [a2.uuid, b1.uuid, a1.uuid]
    seen, marker = [], None
    while page := repo.page(None, 1, marker, "repo", "desc"):
        seen.append(page[0].uuid)
        marker = page[0].uuid
    assert seen == desc
    with pytest.raises(ImageNotFound):
        repo.page("A", 10, marker=b1.uuid)
    with pytest.raises(InvalidParameterValue):
        repo.page(None, 10, sort_key="progress")

    # Progress while pulling, then the outcome; nothing once the pull has ended.
    step = PullProgress(1, 3, 1_000_000, 5_000_000_000)
    assert repo.report(a1.uuid, ImageStatus.PULLING, progress=step)
    assert repo.get(a1.uuid, None).progress == step
    assert repo.report(a1.uuid, ImageStatus.READY, image_id="sha256:aa", size=6_000_000_000)
    ready = repo.get(a1.uuid, None)
    assert (ready.status, ready.image_id, ready.size, ready.progress) == (
        ImageStatus.READY, "sha256:aa", 6_000_000_000, None,
    )  # fmt: skip
    assert not repo.report(a1.uuid, ImageStatus.ERROR, reason="late")
    assert repo.report(a2.uuid, ImageStatus.ERROR, reason="registry unreachable")
    failed = repo.get(a2.uuid, None)
    assert (failed.status, failed.status_reason) == (ImageStatus.ERROR, "registry unreachable")
    retried = pull("zz/web", "A")  # a failed pull is taken over, under a new uuid
    assert retried.status == ImageStatus.PULLING and retried.status_reason is None
    assert [i.uuid for i in repo.on_host("h1")] == [a1.uuid, retried.uuid]

    # Sync: the engine's tags are recorded, gone ones leave, live pulls stay, stale fail.
    stale = dt.timedelta(minutes=5)
    engine = [
        LocalImage("app", "1", "sha256:bb", 7),
        LocalImage("found/before", "latest", "sha256:cc", 8),
        LocalImage("used/by", "2", "sha256:dd", 9),
    ]
    repo.sync("h1", engine, {"used/by:2": ("P", "U")}, stale)
    by_ref = {f"{i.repo}:{i.tag}": i for i in repo.on_host("h1")}
    assert set(by_ref) == {"app:1", "zz/web:1", "found/before:latest", "used/by:2"}
    assert (by_ref["app:1"].image_id, by_ref["app:1"].size) == ("sha256:bb", 7)
    assert by_ref["app:1"].uuid == a1.uuid and by_ref["app:1"].project_id == "A"
    assert by_ref["found/before:latest"].project_id is None
    assert (by_ref["used/by:2"].project_id, by_ref["used/by:2"].user_id) == ("P", "U")
    assert by_ref["zz/web:1"].status == ImageStatus.PULLING
    clock.advance(6 * 60)
    repo.sync("h1", engine[1:], {}, stale)
    by_ref = {f"{i.repo}:{i.tag}": i for i in repo.on_host("h1")}
    assert "app:1" not in by_ref  # removed outside Dockyard
    assert by_ref["zz/web:1"].status == ImageStatus.ERROR
    assert "interrupted" in (by_ref["zz/web:1"].status_reason or "")
    assert repo.get(b1.uuid, None).status == ImageStatus.PULLING  # other hosts untouched

    repo.delete(b1.uuid)
    with pytest.raises(ImageNotFound):
        repo.delete(b1.uuid)


def test_an_image_list_older_than_a_pulls_outcome_removes_nothing(db: Database) -> None:
    """A sync applied late (its call timed out and was sent again, the first delivery
    still queued) lists the engine as it was before a pull landed: the READY record the
    pull's report made after that list stays; a list taken after it removes it."""
    clock = FakeClock(dt.datetime(2026, 1, 1, 12, 0, 0))
    db.clock = clock
    repo = ImageRepository(db)
    record = repo.create(ImageRecord(str(uuid.uuid4()), "app", "1", "h1", project_id="A"))
    listed_before = clock.now()
    clock.advance(1)
    assert repo.report(record.uuid, ImageStatus.READY, image_id="sha256:aa", size=1)
    stale = dt.timedelta(minutes=5)

    repo.sync("h1", [], {}, stale, listed_at=listed_before)
    assert repo.get(record.uuid, None).status == ImageStatus.READY

    clock.advance(1)
    repo.sync("h1", [], {}, stale, listed_at=clock.now())
    with pytest.raises(ImageNotFound):
        repo.get(record.uuid, None)


def test_image_sync_notes_dockyards_pulls_and_the_last_use(db: Database) -> None:
    repo = ImageRepository(db)
    t0 = dt.datetime(2026, 1, 1, 12, 0, 0)
    engine = [
        LocalImage("pulled/here", "1", "sha256:aa", 7),
        LocalImage("found/before", "1", "sha256:bb", 8),
    ]
    uses = [
        ImageUse("pulled/here:1", t0, pulled=True),
        ImageUse("found/before:1", t0 + dt.timedelta(minutes=1)),
        ImageUse("pulled/here:1", t0 + dt.timedelta(minutes=2)),
        ImageUse("not/on/engine:1", t0, pulled=True),  # nothing to note it on
    ]
    repo.sync("h1", engine, {}, dt.timedelta(minutes=5), uses)
    by_ref = {i.reference: i for i in repo.on_host("h1")}
    assert set(by_ref) == {"pulled/here:1", "found/before:1"}
    assert (by_ref["pulled/here:1"].pulled_by_dockyard, by_ref["pulled/here:1"].last_used_at) == (
        True, t0 + dt.timedelta(minutes=2),
    )  # fmt: skip
    assert (by_ref["found/before:1"].pulled_by_dockyard, by_ref["found/before:1"].last_used_at) == (
        False, t0 + dt.timedelta(minutes=1),
    )  # fmt: skip

    # A later use moves the time on, an older one (a slow agent) does not; a re-pull of
    # a tag the engine held (pulled=False) never makes it Dockyard's.
    repo.sync("h1", engine, {}, dt.timedelta(minutes=5), [ImageUse("found/before:1", t0)])
    repo.sync(
        "h1",
        engine,
        {},
        dt.timedelta(minutes=5),
        [ImageUse("pulled/here:1", t0 + dt.timedelta(hours=1))],
    )
    by_ref = {i.reference: i for i in repo.on_host("h1")}
    assert by_ref["found/before:1"].last_used_at == t0 + dt.timedelta(minutes=1)
    assert by_ref["found/before:1"].pulled_by_dockyard is False
    assert by_ref["pulled/here:1"].last_used_at == t0 + dt.timedelta(hours=1)
    # Kept for garbage collection, not shown by the API: no sort key either.
    for hidden in ("pulled_by_dockyard", "last_used_at"):
        with pytest.raises(InvalidParameterValue):
            repo.page(None, 10, sort_key=hidden)


def test_racing_claims_of_one_idempotency_key_record_it_once(db: Database) -> None:
    keys = IdempotencyRepository(db)
    # Sixteen requests with one key at once: exactly one records it, every other
    # one reads that row, on each database (a deadlock on MariaDB is retried).
    claims = in_parallel(16, lambda i: keys.claim("p", "k-1", "f"))
    assert sum(c is None for c in claims) == 1
    others = [c for c in claims if c is not None]
    assert len(others) == 15
    assert {(c.project_id, c.key, c.fingerprint, c.container_uuid) for c in others} == {
        ("p", "k-1", "f", None)
    }
    # The same key in another project is another key.
    assert keys.claim("q", "k-1", "g") is None
    keys.settle("p", "k-1", "c-uuid")
    again = keys.claim("p", "k-1", "f2")
    assert again is not None and (again.container_uuid, again.fingerprint) == ("c-uuid", "f")
    assert keys.count() == 2


def test_idempotency_keys_are_forgotten_only_as_seen_and_swept_when_old(db: Database) -> None:
    clock = FakeClock(dt.datetime(2026, 1, 1, 12, 0, 0))
    keys = IdempotencyRepository(db, clock)
    assert keys.claim("p", "old", "f") is None
    clock.advance(3600)
    assert keys.claim("p", "new", "f") is None
    seen = keys.get("p", "new")
    assert seen is not None and seen.created_at == clock.at
    keys.settle("p", "new", "c-uuid")
    # A row settled since it was read is not removed by a forget of the old reading.
    assert keys.forget(seen) is False
    assert keys.get("p", "new") is not None
    assert keys.sweep(clock.at - dt.timedelta(seconds=60)) == 1
    assert keys.get("p", "old") is None and keys.get("p", "new") is not None
    settled = keys.get("p", "new")
    assert settled is not None and keys.forget(settled) is True
    assert keys.count() == 0


def test_every_state_change_that_lands_is_audited_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    hosts = HostRepository(db, dt.timedelta(minutes=1))
    hosts.report("h1", host_inventory(cpu=4.0, memory=4000))
    repo = ContainerRepository(db)
    made = record(task_state=TaskState.CONTAINER_CREATING)
    running = ContainerChange(Status.RUNNING, task=None)
    with caplog.at_level(logging.INFO, "dockyard.audit"), bound(RequestScope("req-a", "u", "p")):
        assert repo.create_claimed(made, "h1") is not None
        assert repo.apply(made.uuid, running, expect=TaskState.IMAGE_PULLING) is False
        assert repo.apply(made.uuid, running, expect=TaskState.CONTAINER_CREATING) is True
        assert repo.update(made.uuid, {"name": "renamed"}) is not None  # not a state change
        stopping = {"task_state": TaskState.CONTAINER_STOPPING}
        assert repo.update(made.uuid, stopping, expect=None) is not None
        assert repo.update(made.uuid, stopping, expect=None) is None  # guard failed
        assert repo.destroy(made.uuid) is True
        assert repo.destroy(made.uuid) is False
    lines = [r.audit for r in caplog.records if r.name == "dockyard.audit"]  # type: ignore[attr-defined]
    assert [(a["change"], a["status"], a["task_state"]) for a in lines] == [
        ("create", "Creating", "container_creating"),
        ("report", "Running", None),
        ("update", None, "container_stopping"),
        ("delete", "Deleted", None),
    ]
    assert {(a["container"], a["request_id"], a["user_id"]) for a in lines} == {
        (made.uuid, "req-a", "u")
    }
    assert lines[0]["container_project_id"] == "p"


def test_containers_are_counted_by_host_and_status(db: Database) -> None:
    hosts = HostRepository(db, dt.timedelta(minutes=1))
    hosts.report("h1", host_inventory(cpu=4.0, memory=4000))
    repo = ContainerRepository(db)
    for status in (Status.RUNNING, Status.RUNNING, Status.STOPPED):
        assert repo.create_claimed(record(status=status), "h1") is not None
    repo.create(record(status=Status.ERROR, host=None))
    assert sorted(repo.count_by_host_status()) == [
        ("", "Error", 1),
        ("h1", "Running", 2),
        ("h1", "Stopped", 1),
    ]
