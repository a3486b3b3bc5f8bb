"""Which images a host's garbage collection removes: the policy, free of any I/O.

The unit of collection is an engine image (one id), not a tag: removing one tag of an
image that keeps another frees nothing, so an image goes only when every tag it has
may go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

_NEVER = dt.datetime.min


@dataclass(frozen=True)
class StoreUsage:
    """How full the image store is: bytes used of bytes available to it."""

    used: int
    capacity: int

    def percent(self) -> float:
        return 100.0 * self.used / self.capacity if self.capacity > 0 else 0.0


@dataclass(frozen=True)
class GcPolicy:
    """When collection starts (above ``high_percent`` of the store), where it stops
    (at ``low_percent``), and what it never removes."""

    high_percent: int
    low_percent: int
    #: References (``repo:tag`` as the engine lists them) kept whatever their use.
    pinned: frozenset[str] = frozenset()
    #: An image pulled or used more recently than this is kept (a create may be about
    #: to use it).
    min_age: dt.timedelta = dt.timedelta(0)

    def __post_init__(self) -> None:
        if not 0 <= self.low_percent < self.high_percent <= 100:
            raise ValueError(
                f"image garbage collection needs 0 <= low ({self.low_percent}) < "
                f"high ({self.high_percent}) <= 100 percent"
            )


@dataclass(frozen=True)
class GcCandidate:
    """One engine image and what the policy needs to know of it."""

    image_id: str
    #: Its tags (``repo:tag``).
    references: tuple[str, ...]
    size: int
    #: When Dockyard last pulled it or created a container from it; None: never seen.
    last_used: dt.datetime | None
    #: Whether every tag of it is one Dockyard pulled on this host itself.
    owned: bool
    #: Whether any container of the engine (Dockyard's or not) references it.
    in_use: bool


def over_high_water(usage: StoreUsage, policy: GcPolicy) -> bool:
    return usage.used * 100 > policy.high_percent * usage.capacity


def removable(candidate: GcCandidate, policy: GcPolicy, now: dt.datetime) -> bool:
    """Whether ``candidate`` may be removed at all, however full the store is."""
    if not candidate.owned or candidate.in_use:
        return False
    if any(ref in policy.pinned for ref in candidate.references):
        return False
    last = candidate.last_used
    return last is None or now - last >= policy.min_age


def select(
    candidates: Iterable[GcCandidate], usage: StoreUsage, policy: GcPolicy, now: dt.datetime
) -> list[GcCandidate]:
    """The images to remove, least recently used first, until the store would be at
    the low-water mark; none unless it is above the high-water mark.

    Sizes are the engine's, which count layers shared with other images once per
    image, so the store may end above the low-water mark; the next run goes on.
    """
    if not over_high_water(usage, policy):
        return []
    target = policy.low_percent * usage.capacity / 100
    ordered = sorted(
        (c for c in candidates if removable(c, policy, now)),
        key=lambda c: (c.last_used or _NEVER, c.image_id),
    )
    chosen = []
    used = usage.used
    for candidate in ordered:
        if used <= target:
            break
        chosen.append(candidate)
        used -= candidate.size
    return chosen
