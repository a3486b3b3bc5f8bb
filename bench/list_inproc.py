"""Server-side time of GET /v1/containers, measured in-process (run as a script).

``python bench/list_inproc.py --config-file FILE --url URL --reps N [--profile OUT]``

Builds Dockyard's WSGI application with ``dockyard.cmd.all_in_one_node.build`` from the
service's own configuration, so it reads the same SQLite file (the service must be
stopped), then calls the app directly with a werkzeug ``EnvironBuilder`` environ and
drains the body: routing, auth, database query, views and JSON rendering, but no
socket, HTTP server or client. Prints one JSON object on stdout.

It is a standalone script (no ``bench`` imports) so that it runs with whichever
``dockyard`` package ``PYTHONPATH`` selects: the same code the service ran.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--profile", help="write cProfile stats of extra, unmeasured calls here")
    parser.add_argument("--profile-reps", type=int, default=5)
    args = parser.parse_args(argv)

    from werkzeug.test import EnvironBuilder

    import dockyard
    from dockyard.cmd.all_in_one_node import build
    from dockyard.cmd.configuration import load_config

    node = build(load_config(["--config-file", args.config_file]))
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda _data: None

    def call() -> bytes:
        environ = EnvironBuilder(
            path="/v1/containers",
            base_url=args.url,
            headers=[("OpenStack-API-Version", "container 1.40")],
        ).get_environ()
        body = b"".join(node.app(environ, start_response))
        if not statuses[-1].startswith("200"):
            raise SystemExit(f"in-process list answered {statuses[-1]}: {body[:300]!r}")
        return body

    samples: list[float] = []
    body = b""
    try:
        for i in range(args.warmup + args.reps):
            start = time.perf_counter()
            body = call()
            elapsed = time.perf_counter() - start
            if i >= args.warmup:
                samples.append(elapsed)
        if args.profile:
            # Profiled separately: cProfile's overhead must not inflate the samples above.
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.profile_reps):
                call()
            profiler.disable()
            profiler.dump_stats(args.profile)
    finally:
        node.db.dispose()
    count = len(json.loads(body)["containers"])
    size = len(body)
    json.dump(
        {
            "samples_s": samples,
            "containers": count,
            "body_bytes": size,
            "dockyard_package": dockyard.__file__,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
