"""Percentiles and summaries of latency samples (pure functions, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) with linear interpolation between closest ranks.

    Matches numpy's default ("linear") method. Raises ValueError on an empty sequence.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile {p} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Latency summary in milliseconds."""

    n: int
    p50: float
    p95: float
    mean: float
    min: float
    max: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(seconds: Sequence[float]) -> Summary:
    """Summary (in ms) of samples given in seconds."""
    ms = [s * 1000.0 for s in seconds]
    return Summary(
        n=len(ms),
        p50=percentile(ms, 50),
        p95=percentile(ms, 95),
        mean=sum(ms) / len(ms),
        min=min(ms),
        max=max(ms),
    )


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when the denominator is not positive."""
    if denominator <= 0:
        return None
    return numerator / denominator


@dataclass(frozen=True)
class Row:
    """One line of the comparison table."""

    operation: str
    dockyard: Summary
    raw: Summary
    raw_label: str = "docker-py"

    @property
    def ratio_p50(self) -> float | None:
        return ratio(self.dockyard.p50, self.raw.p50)

    @property
    def ratio_p95(self) -> float | None:
        return ratio(self.dockyard.p95, self.raw.p95)

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "raw_label": self.raw_label,
            "dockyard_ms": self.dockyard.as_dict(),
            "raw_ms": self.raw.as_dict(),
            "ratio_p50": self.ratio_p50,
            "ratio_p95": self.ratio_p95,
        }


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def format_table(rows: Sequence[Row]) -> str:
    """A compact fixed-width table of the rows."""
    header = (
        "operation",
        "dockyard p50/p95 ms",
        "raw p50/p95 ms",
        "raw is",
        "ratio p50",
        "ratio p95",
    )
    lines = [
        (
            r.operation,
            f"{r.dockyard.p50:.1f} / {r.dockyard.p95:.1f}",
            f"{r.raw.p50:.1f} / {r.raw.p95:.1f}",
            r.raw_label,
            _fmt_ratio(r.ratio_p50),
            _fmt_ratio(r.ratio_p95),
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]

    def render(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [render(header), render(["-" * w for w in widths])]
    out.extend(render(line) for line in lines)
    return "\n".join(out)
