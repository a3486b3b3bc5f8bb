"""Failpoints: named steps where a test can hold an operation to inject a fault there.

A process enables points by naming them, comma-separated, in the environment
variable ``DOCKYARD_FAILPOINTS`` (read once, at import). Disabled, ``hit`` is one
lookup in an empty frozenset and returns at once: production pays nothing.

An enabled point holds only the operations a test has armed, one subject (a
container's name or uuid) at a time, through files in ``DOCKYARD_FAILPOINT_DIR``:

- the test creates ``<point>@<subject>.arm``;
- the process, reaching ``<point>`` for that subject, creates
  ``<point>@<subject>.reached`` and waits;
- it goes on when ``<point>@<subject>.release`` appears, or after
  ``DOCKYARD_FAILPOINT_TIMEOUT`` seconds (default 120), whichever is first.

So a test can hold several operations at different steps at once, inject one
fault (kill a process, cut a connection, stop an engine) while they wait, and
then let them go on into it. The points:

=====================  ==============================================================
``create.before_claim`` API: placed, image checked, before the claiming transaction
``create.after_claim``  API: record, claim, quota and ports stored, before the cast to the agent
``create.pulling``      agent: ``image_pulling`` reported, before the engine's pull
``create.before_start`` agent: engine container created, before it is started
``create.before_report`` agent: container started, before the final report
``delete``              agent: before the engine container is stopped/removed
``stop``                agent: before the engine container is stopped
``rules``               agent: a pushed rule or membership change, before the kernel's
                        rules are replaced (subject: the host's name)
=====================  ==============================================================
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = frozenset(
    {
        "create.before_claim",
        "create.after_claim",
        "create.pulling",
        "create.before_start",
        "create.before_report",
        "delete",
        "stop",
        "rules",
    }
)


def _enabled(value: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = names - POINTS
    if unknown:
        raise ValueError(f"DOCKYARD_FAILPOINTS names unknown points: {sorted(unknown)}")
    return names


ENABLED = _enabled(os.environ.get("DOCKYARD_FAILPOINTS", ""))
DIRECTORY = Path(os.environ.get("DOCKYARD_FAILPOINT_DIR", "."))
TIMEOUT = float(os.environ.get("DOCKYARD_FAILPOINT_TIMEOUT", "120"))
POLL = 0.05


def hit(point: str, *subjects: str) -> None:
    """Hold here while a test has armed ``point`` for one of ``subjects``."""
    if point not in ENABLED:
        return
    for subject in subjects:
        stem = DIRECTORY / f"{point}@{subject}"
        if stem.with_name(stem.name + ".arm").exists():
            _hold(stem)
            return


def _hold(stem: Path) -> None:
    stem.with_name(stem.name + ".reached").touch()
    release = stem.with_name(stem.name + ".release")
    deadline = time.monotonic() + TIMEOUT
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(POLL)
