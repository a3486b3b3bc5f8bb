"""Fresh databases on the machine's PostgreSQL and MariaDB, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tests.conftest import require

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306",
}


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """The URL of a new, empty database on ``kind``'s server (skipped loudly when absent)."""
    admin_url = SERVERS[kind] + ("/postgres" if kind == "postgresql" else "/")
    name = f"dockyard_test_{uuid.uuid4().hex[:10]}"
    # No pool: a test may restart the server between CREATE and DROP.
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        require(
            False, f"!!! a {kind} server on 127.0.0.1 ({exc.orig}); scripts/ensure-databases.sh"
        )
        raise
    try:
        yield f"{SERVERS[kind]}/{name}"
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
