"""The range an all-in-one carves project networks from, chosen against its engine."""

from __future__ import annotations

import ipaddress
import random

import pytest

from dockyard.domain.errors import InvalidInput
from dockyard.domain.network_pools import AUTO_RANGE, free_pool


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_the_pool_overlaps_no_network_of_the_engine() -> None:
    taken = [net("172.17.0.0/16"), *(net(f"10.{i}.3.0/24") for i in range(64, 127))]
    for seed in range(20):
        pool = free_pool(taken, random.Random(seed))
        assert pool == net("10.127.0.0/16")  # the only /16 of the range left


def test_pools_are_chosen_at_random_among_the_free_ones() -> None:
    chosen = {free_pool([net("10.64.0.0/12")], random.Random(seed)) for seed in range(50)}
    assert len(chosen) > 10
    assert all(p.subnet_of(AUTO_RANGE) and not p.overlaps(net("10.64.0.0/12")) for p in chosen)


def test_ipv6_networks_do_not_count() -> None:
    assert free_pool([net("fd00::/64")], random.Random(1)).subnet_of(AUTO_RANGE)


def test_an_engine_holding_the_whole_range_is_refused_naming_the_option() -> None:
    with pytest.raises(InvalidInput, match="project_network_pool"):
        free_pool([net("10.0.0.0/8")], random.Random(1))
