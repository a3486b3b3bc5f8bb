"""Changes another process commits reach this process's waiters, through PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from dockyard.db import migrate
from dockyard.db.notifications import ChangeListener
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.session import Database
from dockyard.domain.changes import ChangeFeed
from tests.factories import container
from tests.support.databases import fresh_database


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database("postgresql") as made:
        database = Database(made)
        migrate.upgrade(database)
        database.dispose()
        yield made


def wait_until(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_conductors_write_wakes_the_api_waiter_and_a_lost_listener_recovers(url: str) -> None:
    conductor_db, api_db = Database(url), Database(url)
    feed = ChangeFeed(complete=False)
    listener = ChangeListener(api_db, feed)
    listener.start()
    try:
        wait_until(lambda: feed.complete)
        writer = ContainerRepository(conductor_db)  # another process: its own feed, none here
        record = writer.create(container(name="c", project_id="p", user_id="u", image="i"))

        with feed.watch(record.uuid) as changed:
            assert changed is not None
            writer.update(record.uuid, {"name": "renamed"})
            assert changed.wait(2), "the update was not heard"
            changed.clear()
            writer.destroy(record.uuid)
            assert changed.wait(2), "the delete was not heard"

        # The listener's connection dies: the feed says so, then it listens again
        # and wakes every waiter, since it may have missed changes meanwhile.
        with feed.watch("some-uuid") as woken, conductor_db.engine.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                )
            )
            conn.commit()
            wait_until(lambda: not feed.complete)
            wait_until(lambda: feed.complete)
            assert woken is not None and woken.is_set()
    finally:
        listener.stop()
        conductor_db.dispose()
        api_db.dispose()
