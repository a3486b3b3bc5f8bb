"""The image garbage collection policy: water marks, LRU order and what is never removed."""

from __future__ import annotations

import datetime as dt

import pytest

from dockyard.domain.image_gc import (
    GcCandidate,
    GcPolicy,
    StoreUsage,
    over_high_water,
    removable,
    select,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)
POLICY = GcPolicy(high_percent=85, low_percent=75)


def image(
    name: str,
    size: int = 10,
    hours_ago: float | None = 1,
    *,
    owned: bool = True,
    in_use: bool = False,
    tags: tuple[str, ...] = (),
) -> GcCandidate:
    last = None if hours_ago is None else NOW - dt.timedelta(hours=hours_ago)
    return GcCandidate(
        image_id=f"sha256:{name}",
        references=tags or (f"{name}:latest",),
        size=size,
        last_used=last,
        owned=owned,
        in_use=in_use,
    )


def names(chosen: list[GcCandidate]) -> list[str]:
    return [c.image_id.removeprefix("sha256:") for c in chosen]


def test_nothing_goes_at_or_below_the_high_water_mark() -> None:
    old = [image("a", 50, 100), image("b", 50, 200)]
    assert select(old, StoreUsage(85, 100), POLICY, NOW) == []
    assert not over_high_water(StoreUsage(85, 100), POLICY)
    assert over_high_water(StoreUsage(86, 100), POLICY)


def test_least_recently_used_go_first_until_the_low_water_mark() -> None:
    found = [
        image("new", 5, 1),
        image("oldest", 5, 30),
        image("middle", 5, 10),
        image("old", 5, 20),
    ]
    # 90 used of 100: 15 to free to reach 75, three images of 5.
    assert names(select(found, StoreUsage(90, 100), POLICY, NOW)) == ["oldest", "old", "middle"]
    # 86 used: one image brings it to 81, still above 75; two to 76; three to 71.
    assert names(select(found, StoreUsage(80 + 6, 100), POLICY, NOW)) == [
        "oldest",
        "old",
        "middle",
    ]
    assert names(select(found, StoreUsage(88, 100), GcPolicy(85, 80), NOW)) == ["oldest", "old"]


def test_collection_stops_as_soon_as_the_low_water_mark_is_reached() -> None:
    found = [image("big", 40, 30), image("small", 1, 20)]
    assert names(select(found, StoreUsage(99, 100), POLICY, NOW)) == ["big"]


def test_an_image_never_used_is_the_least_recently_used() -> None:
    found = [image("used", 10, 500), image("unknown", 20, None)]
    assert names(select(found, StoreUsage(86, 100), POLICY, NOW)) == ["unknown"]


@pytest.mark.parametrize(
    "kept",
    [
        image("x", 50, 100, in_use=True),
        image("x", 50, 100, owned=False),
        image("x", 50, 100, tags=("pinned/app:1.0", "x:latest")),
        image("x", 50, 0.01),
    ],
    ids=["in use", "not pulled by Dockyard", "pinned", "younger than min_age"],
)
def test_images_in_use_foreign_pinned_or_just_used_are_never_removed(kept: GcCandidate) -> None:
    policy = GcPolicy(85, 75, pinned=frozenset({"pinned/app:1.0"}), min_age=dt.timedelta(hours=1))
    found = [kept, image("other", 10, 50)]
    # Far above the mark and unable to reach it: everything removable goes, nothing else.
    assert names(select(found, StoreUsage(100, 100), policy, NOW)) == ["other"]
    assert not removable(kept, policy, NOW)


def test_when_the_low_water_mark_cannot_be_reached_every_removable_image_goes() -> None:
    found = [image("a", 1, 3), image("b", 1, 2), image("c", 1, 1, in_use=True)]
    assert names(select(found, StoreUsage(99, 100), POLICY, NOW)) == ["a", "b"]


def test_equal_last_uses_are_ordered_by_image_id_so_runs_agree() -> None:
    found = [image("b", 1, 5), image("a", 1, 5)]
    assert names(select(found, StoreUsage(99, 100), POLICY, NOW)) == ["a", "b"]


@pytest.mark.parametrize(("high", "low"), [(75, 75), (70, 80), (101, 50), (50, -1)])
def test_water_marks_must_be_ordered_percentages(high: int, low: int) -> None:
    with pytest.raises(ValueError, match="low"):
        GcPolicy(high, low)


def test_usage_percent_of_an_empty_store_is_zero() -> None:
    assert StoreUsage(10, 0).percent() == 0.0
    assert StoreUsage(50, 200).percent() == 25.0
