"""Engine creation and transactions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event


class Database:
    """One engine; `read()` and `write()` hand out connections inside a transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {
            "pool_pre_ping": not self.is_sqlite,
            "json_deserializer": _loads,
        }
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 32
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _tune_sqlite(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
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
