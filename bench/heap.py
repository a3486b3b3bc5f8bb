"""tracemalloc snapshots of Dockyard processes during a bench run (bench only).

The processes are started with ``environment(...)``, which puts
``bench/tracemalloc_hook/sitecustomize.py`` on their ``PYTHONPATH``; ``snapshot``
asks one of them for a snapshot and waits for it (after ``start``); ``growth``
compares two.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

HOOK = Path(__file__).parent / "tracemalloc_hook"


def environment(directory: Path, programs: list[str], frames: int) -> dict[str, str]:
    """What the watched processes' environment needs for tracing in ``programs``."""
    path = [str(HOOK), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        "PYTHONPATH": os.pathsep.join(path),
        "DOCKYARD_BENCH_TRACEMALLOC_DIR": str(directory),
        "DOCKYARD_BENCH_TRACEMALLOC_PROCESSES": ",".join(programs),
        "DOCKYARD_BENCH_TRACEMALLOC_FRAMES": str(frames),
    }


def start(directory: Path, program: str, timeout: float = 60) -> bool:
    """Have ``program`` start tracing; whether it did within ``timeout``."""
    return _ask(directory, program, "start", ".started", timeout) is not None


def snapshot(directory: Path, program: str, label: str, timeout: float = 300) -> Path | None:
    """Ask ``program`` for a snapshot named ``label``; its file, or None past ``timeout``."""
    return _ask(directory, program, label, ".snapshot", timeout)


def _ask(directory: Path, program: str, label: str, answer: str, timeout: float) -> Path | None:
    request = directory / f"{program}@{label}.request"
    target = request.with_suffix(answer)
    request.touch()
    deadline = time.monotonic() + timeout
    while not target.exists():
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)
    return target


def growth(
    before: Path, after: Path, key: str = "traceback", top: int = 15
) -> list[dict[str, object]]:
    """The ``top`` allocation sites whose live size grew most between two snapshots,
    grouped by ``key`` ("lineno": the allocating line; "traceback": its whole stack,
    innermost frame last, as deep as the snapshots recorded it)."""
    first = tracemalloc.Snapshot.load(str(before))
    second = tracemalloc.Snapshot.load(str(after))
    ignored = [tracemalloc.Filter(False, tracemalloc.__file__)]
    changes = second.filter_traces(ignored).compare_to(first.filter_traces(ignored), key)
    changes.sort(key=lambda stat: stat.size_diff, reverse=True)
    return [
        {
            "kib": round(stat.size_diff / 1024, 1),
            "blocks": stat.count_diff,
            "kib_now": round(stat.size / 1024, 1),
            "where": [f"{frame.filename}:{frame.lineno}" for frame in stat.traceback],
        }
        for stat in changes[:top]
    ]


def total_kib(path: Path) -> float:
    """Live traced memory of a snapshot, KiB."""
    stats = tracemalloc.Snapshot.load(str(path)).statistics("filename")
    return round(sum(stat.size for stat in stats) / 1024, 1)
