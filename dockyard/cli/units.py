"""Docker's size and duration notations, and their Zun counterparts."""

from __future__ import annotations

import datetime as dt
import math
import re

KiB = 1024
MiB = 1024 * KiB

_SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[bkmgtp]?)(?:i?b)?$", re.IGNORECASE)
_FACTORS = {"": 1, "b": 1, "k": KiB, "m": MiB, "g": 1024 * MiB, "t": 1024**4, "p": 1024**5}


def parse_bytes(text: str) -> int:
    """Docker's memory notation (``512``, ``64m``, ``1g``, ``1.5GiB``): binary units, bytes."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise ValueError(f"invalid size: {text!r} (e.g. 64m, 1g)")
    return int(float(match["number"]) * _FACTORS[match["unit"].lower()])


def memory_mib(text: str) -> int:
    """Docker's ``-m`` value as the whole MiB the Zun API takes (rounded up)."""
    size = parse_bytes(text)
    if size < MiB and text.strip().isdigit():
        raise ValueError(
            f"invalid memory {text!r}: a plain number is bytes, as in Docker; "
            f"write {text}m for {text} MiB"
        )
    if size < MiB:
        raise ValueError(f"invalid memory {text!r}: the smallest limit is 1m")
    return math.ceil(size / MiB)


def human_size(size: float) -> str:
    """A size the way ``docker`` prints it (``1.5MiB``, ``512B``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.4g}{unit}"
        size /= 1024
    raise AssertionError("unreachable")


def decimal_size(size: float) -> str:
    """A size in decimal units, as ``docker images`` and ``docker stats`` I/O show it."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.3g}{unit}"
        size /= 1000
    raise AssertionError("unreachable")


def duration(seconds: float) -> str:
    """A duration in ``docker ps`` words: "3 minutes", "About an hour", "2 weeks"."""
    hours = seconds / 3600
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return "1 second" if int(seconds) == 1 else f"{int(seconds)} seconds"
    if seconds < 120:
        return "About a minute"
    if seconds < 3600:
        return f"{int(seconds // 60)} minutes"
    if round(hours) == 1:
        return "About an hour"
    for limit, size, unit in ((48, 1, "hour"), (24 * 14, 24, "day"), (24 * 60, 24 * 7, "week"),
                              (24 * 730, 24 * 30, "month")):  # fmt: skip
        if hours < limit:
            return f"{int(round(hours) // size)} {unit}s"
    return f"{int(hours // (24 * 365))} years"


def ago(moment: dt.datetime, now: dt.datetime) -> str:
    """``docker ps``'s CREATED column: "5 minutes ago"."""
    return duration((now - moment).total_seconds()) + " ago"


def parse_timestamp(text: str) -> dt.datetime:
    """A Zun ``created_at`` (naive UTC, ``YYYY-MM-DD HH:MM:SS[.ffffff]``) as an aware time."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
