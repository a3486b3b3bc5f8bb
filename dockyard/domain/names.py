"""Generated container names: `<greek letter>-<number>-container`."""

from __future__ import annotations

import random

GREEK = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
)


def generate_name(rng: random.Random) -> str:
    # Zun draws from 576 names; a wider number range keeps collisions rare.
    return f"{rng.choice(GREEK)}-{rng.randint(1, 99999)}-container"
