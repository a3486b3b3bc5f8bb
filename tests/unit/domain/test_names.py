"""Generated container names."""

from __future__ import annotations

import random
import re

from dockyard.domain.names import GREEK, generate_name

PATTERN = re.compile(r"^(?P<letter>[a-z]+)-(?P<number>[1-9][0-9]*)-container$")
# The name rule of spec §8 (create/rename): generated names must pass it too.
API_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def test_the_24_greek_letters_in_order() -> None:
    assert GREEK[0] == "alpha"
    assert GREEK[-1] == "omega"
    assert len(GREEK) == len(set(GREEK)) == 24


def test_shape_and_range() -> None:
    rng = random.Random(1234)
    for _ in range(2000):
        name = generate_name(rng)
        match = PATTERN.match(name)
        assert match is not None, name
        assert match["letter"] in GREEK
        assert 1 <= int(match["number"]) <= 99999
        assert API_NAME.match(name)
        assert 2 <= len(name) <= 255


def test_deterministic_for_a_seed() -> None:
    first = [generate_name(random.Random(7)) for _ in range(3)]
    again = [generate_name(random.Random(7)) for _ in range(3)]

    assert first == again
    one, two = random.Random(7), random.Random(7)
    assert [generate_name(one) for _ in range(5)] == [generate_name(two) for _ in range(5)]


def test_names_rarely_collide() -> None:
    rng = random.Random(99)
    names = {generate_name(rng) for _ in range(1000)}

    # Zun's 576 names would collide constantly; the wider range keeps it rare.
    assert len(names) >= 990


def test_every_letter_is_used() -> None:
    rng = random.Random(5)
    letters = {PATTERN.match(generate_name(rng))["letter"] for _ in range(2000)}  # type: ignore[index]

    assert letters == set(GREEK)
