"""Bench only: tracemalloc in a Dockyard process, snapshots taken on request.

Put on ``PYTHONPATH`` of the processes by ``bench/soak.py --tracemalloc N``; nothing
in ``dockyard/`` knows of it. In a process whose program name is listed in
``DOCKYARD_BENCH_TRACEMALLOC_PROCESSES`` (comma separated, e.g. ``dockyard-conductor``)
it starts a thread that watches ``DOCKYARD_BENCH_TRACEMALLOC_DIR`` for request files:
``<program>@start.request`` starts tracing, ``DOCKYARD_BENCH_TRACEMALLOC_FRAMES``
frames per allocation, and writes ``<program>@start.started`` (tracing from the
start would slow the process's imports past its start-up timeout); any other
``<program>@<label>.request`` writes ``<program>@<label>.snapshot``
(``tracemalloc.Snapshot.dump``). Each request is removed once served.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path


def _serve(directory: Path, program: str, frames: int) -> None:
    while True:
        for request in sorted(directory.glob(f"{program}@*.request")):
            if request.stem.endswith("@start"):
                tracemalloc.start(frames)
                request.with_suffix(".started").touch()
            else:
                target = request.with_suffix(".snapshot")
                tracemalloc.take_snapshot().dump(str(target.with_suffix(".part")))
                os.replace(target.with_suffix(".part"), target)
            request.unlink(missing_ok=True)
        time.sleep(0.5)


def _install() -> None:
    directory = os.environ.get("DOCKYARD_BENCH_TRACEMALLOC_DIR")
    wanted = os.environ.get("DOCKYARD_BENCH_TRACEMALLOC_PROCESSES", "").split(",")
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if not directory or program not in wanted:
        return
    frames = int(os.environ.get("DOCKYARD_BENCH_TRACEMALLOC_FRAMES", "8"))
    thread = threading.Thread(
        target=_serve,
        args=(Path(directory), program, frames),
        name="bench-tracemalloc",
        daemon=True,
    )
    thread.start()


_install()
