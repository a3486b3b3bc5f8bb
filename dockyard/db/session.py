"""Engine creation and transactions."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc

from dockyard.domain.clock import Clock
from dockyard.domain.errors import DatabaseUnavailable

LOG = logging.getLogger(__name__)


class Database:
    """One engine; `read()` and `write()` hand out connections.

    ``write()`` runs in a transaction. ``read()`` on PostgreSQL runs in autocommit
    mode: a read is one or a few SELECTs, and skipping BEGIN and ROLLBACK halves
    its round trips.
    """

    def __init__(
        self,
        url: str,
        pool_size: int = 10,
        max_overflow: int = 5,
        idle_ping_after: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.url = url
        #: The process's clock: what records are stamped with.
        self.clock = clock or Clock()
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"json_deserializer": _loads}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 32
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = max_overflow
        self.engine: Engine = create_engine(url, **kwargs)
        self._reader = self.engine
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        else:
            _ping_when_idle(self.engine, idle_ping_after)
        if self.engine.dialect.name == "postgresql":
            self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _reachable(), _connect(self._reader) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with _reachable(), _connect(self.engine) as conn:
            # On SQLite take the write lock up front: a deferred transaction that
            # later upgrades to a writer fails at once with "database is locked".
            conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


#: Most JSON columns hold one of these; decoding them is most of a list's cost.
_COMMON_JSON: dict[str, Callable[[], Any]] = {"{}": dict, "[]": list, "null": lambda: None}


def _loads(text: str) -> Any:
    make = _COMMON_JSON.get(text)
    return make() if make is not None else json.loads(text)


def _connect(engine: Engine) -> Connection:
    """A connection, or ``DatabaseUnavailable`` when the server refuses one."""
    try:
        return engine.connect()
    except exc.DBAPIError as error:
        LOG.warning("cannot connect to the database: %s", error.orig)
        raise DatabaseUnavailable("The database is unavailable; try again shortly.") from error


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn a connection lost mid-transaction into ``DatabaseUnavailable`` (nothing was
    committed); every other database error passes through for its caller to judge."""
    try:
        yield
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        LOG.warning("lost the database connection: %s", error.orig)
        raise DatabaseUnavailable("The database is unavailable; try again shortly.") from error


def _ping_when_idle(engine: Engine, idle_after: float) -> None:
    """Check a pooled connection before use only if it sat idle for ``idle_after`` s.

    Like SQLAlchemy's pool_pre_ping, a connection the server dropped (a restart)
    is replaced transparently; unlike it, busy connections pay no round trip.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_after:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error
        if not alive:
            raise exc.DisconnectionError("stale pooled connection")


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
