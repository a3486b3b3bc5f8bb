import datetime as dt

import pytest

from dockyard.cli import units


@pytest.mark.parametrize(
    ("text", "mib"),
    [("64m", 64), ("64M", 64), ("64mb", 64), ("64MiB", 64), ("1g", 1024), ("1.5g", 1536),
     ("2048k", 2), ("1048576", 1), ("1025k", 2), ("1t", 1024 * 1024)],
)  # fmt: skip
def test_memory_in_dockers_units_becomes_whole_mib(text: str, mib: int) -> None:
    assert units.memory_mib(text) == mib


@pytest.mark.parametrize("text", ["64", "512k", "abc", "", "-1m", "1x", "m"])
def test_memory_that_is_not_a_mib_or_not_a_size_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        units.memory_mib(text)


def test_a_plain_number_is_bytes_and_the_message_says_so() -> None:
    with pytest.raises(ValueError, match="write 64m for 64 MiB"):
        units.memory_mib("64")
    with pytest.raises(ValueError, match="the smallest limit is 1m"):
        units.memory_mib("512k")


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0B"), (512, "512B"), (1536, "1.5KiB"), (64 * units.MiB, "64MiB"),
     (327.7 * 1024, "327.7KiB"), (3 * 1024**3, "3GiB")],
)  # fmt: skip
def test_human_sizes_read_like_dockers(size: float, text: str) -> None:
    assert units.human_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (61, "About a minute"),
     (300, "5 minutes"), (3600, "About an hour"), (3 * 3600, "3 hours"),
     (3 * 86400, "3 days"), (20 * 86400, "2 weeks"), (90 * 86400, "3 months"),
     (800 * 86400, "2 years")],
)  # fmt: skip
def test_durations_use_docker_ps_words(seconds: float, text: str) -> None:
    assert units.duration(seconds) == text


def test_created_at_from_the_api_is_utc() -> None:
    created = units.parse_timestamp("2026-03-01 10:12:44")
    assert created == dt.datetime(2026, 3, 1, 10, 12, 44, tzinfo=dt.UTC)
    now = dt.datetime(2026, 3, 1, 10, 17, 50, tzinfo=dt.UTC)
    assert units.ago(created, now) == "5 minutes ago"
    assert units.parse_timestamp("2026-03-01 10:12:44.250000").microsecond == 250000
