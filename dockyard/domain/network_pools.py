"""Which range an installation carves its projects' own networks from.

An engine refuses a bridge network whose subnet overlaps another of its networks,
whoever made it. Two `dockyard up` on one engine drawing from one fixed range
would collide on their first project networks, so the all-in-one picks its range
at first start among those no engine network overlaps, and keeps it.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable

from dockyard.domain.errors import InvalidInput

#: The range of the cloud shape, whose operators set one for the whole cloud.
DEFAULT_POOL = ipaddress.IPv4Network("10.100.0.0/16")
#: Where the all-in-one looks for a free /16 at first start (64 of them).
AUTO_RANGE = ipaddress.IPv4Network("10.64.0.0/10")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def free_pool(taken: Iterable[IPNetwork], rng: random.Random) -> ipaddress.IPv4Network:
    """A /16 of AUTO_RANGE that overlaps none of ``taken``, chosen at random so that two
    installations starting at once rarely pick the same one."""
    held = [network for network in taken if network.version == 4]
    free = [
        pool
        for pool in AUTO_RANGE.subnets(new_prefix=16)
        if not any(pool.overlaps(network) for network in held)
    ]
    if not free:
        raise InvalidInput(
            f"Every /16 of {AUTO_RANGE} overlaps a network of the engine: set [network] "
            "project_network_pool to a free range.",
            field="project_network_pool",
        )
    return rng.choice(free)
