"""Where the server-side time of GET /v1/containers goes, stage by stage (a script).

``python bench/list_breakdown.py [--rows 1000] [--reps 20]``

Creates a throw-away SQLite database with Dockyard's own migrations, inserts
``--rows`` records shaped like the benchmark's (Created, on one host, with the
benchmark's command, 16 MiB, 0.1 vCPU) through ``ContainerRepository.create``, then
times each stage of the list path without a profiler (so no profiler overhead):

1. ``sqlite3`` alone: the same SELECT with ``fetchall`` (the floor);
2. SQLAlchemy Core: ``conn.execute(select).all()`` (adds result processing, including
   the JSON columns' ``json.loads``);
3. ``ContainerRepository.page`` (adds ``_to_domain`` per row);
4. ``views.container`` per record;
5. ``json.dumps`` of the body;
6. the whole WSGI app call (routing, negotiation, validation, headers).

Prints JSON: the median of each stage in ms. Standalone (no ``bench`` imports), so
``PYTHONPATH`` selects which ``dockyard`` package is measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def median_ms(fn: Callable[[], Any], reps: int) -> float:
    fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args(argv)

    from sqlalchemy import select
    from werkzeug.test import EnvironBuilder

    import dockyard
    from dockyard.api.views import containers as views
    from dockyard.cmd.all_in_one_node import build
    from dockyard.cmd.configuration import load_config
    from dockyard.db.repositories import containers as repo_module
    from dockyard.db.repositories.containers import ContainerRepository
    from dockyard.domain.models import Container
    from dockyard.domain.states import Status

    root = Path(tempfile.mkdtemp(prefix="dockyard-bench-breakdown-"))
    try:
        config = root / "dockyard.conf"
        config.write_text(f"[DEFAULT]\nhost = bench-breakdown\ndata_dir = {root / 'data'}\n")
        node = build(load_config(["--config-file", str(config)]))
        repo = ContainerRepository(node.db)
        for i in range(args.rows):
            repo.create(
                Container(
                    uuid=str(uuidlib.uuid4()),
                    name=f"bench-{i}",
                    project_id="dockyard",
                    user_id="admin",
                    image="dockyard-test/busybox:latest",
                    status=Status.CREATED,
                    command=tuple(COMMAND),
                    cpu=0.1,
                    memory=16,
                    host="bench-breakdown",
                    claimed=True,
                )
            )
        table = repo_module.T
        query = (
            select(table)
            .where(table.c.project_id == "dockyard")
            .order_by(table.c.id.asc(), table.c.id.asc())
            .limit(args.rows)
        )
        db_file = root / "data" / "dockyard.sqlite"
        raw = sqlite3.connect(db_file)
        raw_sql = "SELECT * FROM containers WHERE project_id = ? ORDER BY id ASC, id ASC LIMIT ?"

        def stage_sqlite() -> None:
            raw.execute(raw_sql, ("dockyard", args.rows)).fetchall()

        def stage_core() -> None:
            with node.db.read() as conn:
                conn.execute(query).all()

        def stage_page() -> list[Container]:
            return repo.page(project_id="dockyard", filters={}, limit=args.rows)

        found = stage_page()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        items = [views.container(c, frozenset(), None, now) for c in found]

        def whole_app() -> None:
            environ = EnvironBuilder(
                path="/v1/containers",
                base_url="http://127.0.0.1:9517",
                headers=[("OpenStack-API-Version", "container 1.40")],
            ).get_environ()
            b"".join(node.app(environ, lambda *_a: lambda _d: None))

        result = {
            "dockyard_package": dockyard.__file__,
            "rows": args.rows,
            "median_ms": {
                "1_sqlite3_fetchall": median_ms(stage_sqlite, args.reps),
                "2_sqlalchemy_execute_all": median_ms(stage_core, args.reps),
                "3_repository_page_incl_to_domain": median_ms(stage_page, args.reps),
                "4_views_container_per_row": median_ms(
                    lambda: [views.container(c, frozenset(), None, now) for c in found], args.reps
                ),
                "5_json_dumps": median_ms(
                    lambda: json.dumps({"containers": items, "next": None}), args.reps
                ),
                "6_whole_wsgi_app": median_ms(whole_app, args.reps),
            },
            "body_bytes": len(json.dumps({"containers": items, "next": None})),
        }
        # What-if experiments (monkeypatched in this process only; Dockyard is unchanged):
        # the row-to-record conversion with the field names in a frozenset instead of a
        # list, and the same with only the columns the list view renders.
        fields = repo_module._FIELDS
        with node.db.read() as conn:
            rows = conn.execute(query).all()
        whatif = {
            "to_domain_only_list_FIELDS": median_ms(
                lambda: [repo_module._to_domain(r) for r in rows], args.reps
            )
        }
        setattr(repo_module, "_FIELDS", frozenset(fields))  # noqa: B010
        try:
            whatif["to_domain_only_frozenset_FIELDS"] = median_ms(
                lambda: [repo_module._to_domain(r) for r in rows], args.reps
            )
            whatif["repository_page_frozenset_FIELDS"] = median_ms(stage_page, args.reps)
            whatif["whole_wsgi_app_frozenset_FIELDS"] = median_ms(whole_app, args.reps)
        finally:
            setattr(repo_module, "_FIELDS", fields)  # noqa: B010
        result["whatif_median_ms"] = whatif
        raw.close()
        node.db.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
