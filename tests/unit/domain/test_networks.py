from __future__ import annotations

from typing import Any

import pytest

from dockyard.domain.errors import Conflict, InvalidInput
from dockyard.domain.networks import (
    AllocationPool,
    NetRequest,
    Subnet,
    ensure_no_overlap,
    new_subnet,
    parse_address,
    subnet_of,
)


def subnet(cidr: str, **kwargs: Any) -> Subnet:
    return new_subnet(id="s-" + cidr, network_id="n1", project_id="p1", cidr=cidr, **kwargs)


def test_defaults_take_the_first_address_as_gateway_and_pool_the_rest() -> None:
    made = subnet("10.0.0.0/24")
    assert (made.ip_version, made.gateway_ip) == (4, "10.0.0.1")
    assert made.allocation_pools == (AllocationPool("10.0.0.2", "10.0.0.254"),)


def test_a_gateway_in_the_middle_splits_the_default_pool() -> None:
    made = subnet("10.0.0.0/28", gateway_ip="10.0.0.7")
    assert made.allocation_pools == (
        AllocationPool("10.0.0.1", "10.0.0.6"),
        AllocationPool("10.0.0.8", "10.0.0.14"),
    )


def test_a_gateway_at_the_end_leaves_one_pool() -> None:
    made = subnet("10.0.0.0/29", gateway_ip="10.0.0.6")
    assert made.allocation_pools == (AllocationPool("10.0.0.1", "10.0.0.5"),)


def test_no_gateway_pools_every_usable_address() -> None:
    made = subnet("10.0.0.0/30", gateway_ip=None)
    assert made.gateway_ip is None
    assert made.allocation_pools == (AllocationPool("10.0.0.1", "10.0.0.2"),)


def test_ipv6_subnet_has_no_broadcast_reservation() -> None:
    made = subnet("fd00:1::/126")
    assert (made.ip_version, made.gateway_ip) == (6, "fd00:1::1")
    assert made.allocation_pools == (AllocationPool("fd00:1::2", "fd00:1::3"),)


def test_the_cidr_is_stored_canonical() -> None:
    assert subnet("FD00:0001:0000::/64").cidr == "fd00:1::/64"
    assert subnet(" 10.1.0.0/16 ").cidr == "10.1.0.0/16"


def test_given_pools_are_sorted_and_kept() -> None:
    pools = [AllocationPool("10.0.0.100", "10.0.0.110"), AllocationPool("10.0.0.10", "10.0.0.20")]
    made = subnet("10.0.0.0/24", allocation_pools=pools)
    assert made.allocation_pools == (pools[1], pools[0])


@pytest.mark.parametrize(
    ("cidr", "kwargs", "field", "words"),
    [
        ("10.0.0.0/33", {}, "cidr", "not a valid CIDR"),
        ("10.0.0/24", {}, "cidr", "not a valid CIDR"),
        ("banana", {}, "cidr", "not a valid CIDR"),
        ("", {}, "cidr", "not a valid CIDR"),
        ("10.0.0.0", {}, "cidr", "no prefix length"),
        ("10.0.0.5/24", {}, "cidr", "host bits set"),
        ("fd00::1/64", {}, "cidr", "host bits set"),
        ("10.0.0.0/31", {}, "cidr", "too small"),
        ("fd00::/127", {}, "cidr", "too small"),
        ("127.0.0.0/8", {}, "cidr", "loopback"),
        ("224.0.0.0/24", {}, "cidr", "multicast"),
        ("169.254.0.0/16", {}, "cidr", "link-local"),
        ("fe80::/64", {}, "cidr", "link-local"),
        ("0.0.0.0/8", {}, "cidr", "unspecified"),
        ("10.0.0.0/24", {"ip_version": 6}, "ip_version", "IPv4 CIDR but ip_version is 6"),
        ("fd00::/64", {"ip_version": 4}, "ip_version", "IPv6 CIDR but ip_version is 4"),
        ("10.0.0.0/24", {"ip_version": 5}, "ip_version", "4 or 6"),
        ("10.0.0.0/24", {"gateway_ip": "10.0.1.1"}, "gateway_ip", "not inside the subnet"),
        ("10.0.0.0/24", {"gateway_ip": "fd00::1"}, "gateway_ip", "not inside the subnet"),
        ("10.0.0.0/24", {"gateway_ip": "10.0.0.0"}, "gateway_ip", "network or broadcast"),
        ("10.0.0.0/24", {"gateway_ip": "10.0.0.255"}, "gateway_ip", "network or broadcast"),
        ("10.0.0.0/24", {"gateway_ip": "10.0.0.300"}, "gateway_ip", "not a valid IP"),
        (
            "10.0.0.0/24",
            {"allocation_pools": [AllocationPool("10.0.0.20", "10.0.0.10")]},
            "allocation_pools",
            "starts after it ends",
        ),
        (
            "10.0.0.0/24",
            {"allocation_pools": [AllocationPool("10.0.0.10", "10.0.1.10")]},
            "allocation_pools",
            "not inside the subnet",
        ),
        (
            "10.0.0.0/24",
            {"allocation_pools": [AllocationPool("10.0.0.0", "10.0.0.10")]},
            "allocation_pools",
            "network or broadcast",
        ),
        (
            "10.0.0.0/24",
            {"allocation_pools": [AllocationPool("10.0.0.250", "10.0.0.255")]},
            "allocation_pools",
            "network or broadcast",
        ),
        (
            "10.0.0.0/24",
            {
                "allocation_pools": [
                    AllocationPool("10.0.0.10", "10.0.0.20"),
                    AllocationPool("10.0.0.20", "10.0.0.30"),
                ]
            },
            "allocation_pools",
            "overlap at 10.0.0.20",
        ),
        (
            "10.0.0.0/24",
            {"allocation_pools": [AllocationPool("10.0.0.x", "10.0.0.30")]},
            "allocation_pools",
            "not a valid IP",
        ),
    ],
)
def test_bad_subnets_are_refused_naming_the_field(
    cidr: str, kwargs: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        subnet(cidr, **kwargs)
    assert caught.value.status == 400
    assert caught.value.fields["field"] == field
    assert words in caught.value.detail


def test_a_gateway_inside_a_given_pool_is_a_conflict_as_in_neutron() -> None:
    with pytest.raises(Conflict) as caught:
        subnet(
            "10.0.0.0/24",
            gateway_ip="10.0.0.15",
            allocation_pools=[AllocationPool("10.0.0.10", "10.0.0.20")],
        )
    assert caught.value.status == 409
    assert "10.0.0.15 is inside the allocation pool" in caught.value.detail


@pytest.mark.parametrize(
    ("new", "existing"),
    [
        ("10.0.0.0/24", "10.0.0.0/24"),
        ("10.0.0.0/16", "10.0.5.0/24"),
        ("10.0.5.128/25", "10.0.5.0/24"),
        ("fd00::/48", "fd00:0:0:1::/64"),
    ],
)
def test_overlapping_subnets_are_refused(new: str, existing: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ensure_no_overlap(new, [subnet(existing)])
    assert "overlaps" in caught.value.detail
    assert caught.value.fields["field"] == "cidr"


def test_neighbouring_and_other_family_subnets_do_not_overlap() -> None:
    ensure_no_overlap("10.0.1.0/24", [subnet("10.0.0.0/24"), subnet("fd00::/64")])
    ensure_no_overlap("fd01::/64", [subnet("fd00::/64"), subnet("10.0.0.0/8")])


def test_subnet_of_finds_the_containing_subnet() -> None:
    subnets = [subnet("10.0.0.0/24"), subnet("fd00::/64")]
    assert subnet_of(subnets, parse_address("fd00::9")) is subnets[1]
    assert subnet_of(subnets, parse_address("10.0.0.9")) is subnets[0]
    assert subnet_of(subnets, parse_address("10.0.1.9")) is None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({}, "exactly one of 'network' and 'port'"),
        ({"network": "n", "port": "p"}, "exactly one of 'network' and 'port'"),
        ({"port": "p", "v4_fixed_ip": "10.0.0.5"}, "goes with a network"),
        ({"network": "n", "v4_fixed_ip": "fd00::5"}, "must be an IPv4 address"),
        ({"network": "n", "v6_fixed_ip": "10.0.0.5"}, "must be an IPv6 address"),
        ({"network": "n", "v4_fixed_ip": "10.0.0.256"}, "not a valid IP"),
    ],
)
def test_bad_net_requests_are_refused(kwargs: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        NetRequest(**kwargs)
    assert words in caught.value.detail


def test_a_net_request_with_a_network_and_both_fixed_ips_is_fine() -> None:
    request = NetRequest(network="n", v4_fixed_ip="10.0.0.5", v6_fixed_ip="fd00::5")
    assert request.port is None
