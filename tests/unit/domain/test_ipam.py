from __future__ import annotations

import pytest

from dockyard.domain.errors import (
    InvalidInput,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
)
from dockyard.domain.ipam import allocate, claim, mac_for, parse_mac
from dockyard.domain.networks import AllocationPool, Subnet, new_subnet


def subnet(cidr: str = "10.0.0.0/29", **kwargs: object) -> Subnet:
    return new_subnet(id="s1", network_id="n1", project_id="p1", cidr=cidr, **kwargs)  # type: ignore[arg-type]


def test_allocate_gives_the_lowest_free_address_of_the_pools() -> None:
    assert allocate(subnet(), []) == "10.0.0.2"
    assert allocate(subnet(), ["10.0.0.2", "10.0.0.3"]) == "10.0.0.4"


def test_allocate_skips_the_gateway_even_when_a_pool_holds_it() -> None:
    made = subnet(gateway_ip=None)
    gatewayed = Subnet(**{**made.__dict__, "gateway_ip": "10.0.0.1"})
    assert allocate(gatewayed, []) == "10.0.0.2"
    assert allocate(made, []) == "10.0.0.1"


def test_allocate_moves_on_to_the_next_pool() -> None:
    made = subnet(
        "10.0.0.0/24",
        allocation_pools=[
            AllocationPool("10.0.0.10", "10.0.0.11"),
            AllocationPool("10.0.0.50", "10.0.0.60"),
        ],
    )
    assert allocate(made, ["10.0.0.10", "10.0.0.11"]) == "10.0.0.50"


def test_allocate_never_gives_network_or_broadcast_addresses() -> None:
    given: list[str] = []
    made = subnet()
    for _ in range(5):
        given.append(allocate(made, given))
    assert given == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    with pytest.raises(IpAddressGenerationFailure) as caught:
        allocate(made, given)
    assert caught.value.status == 409
    assert "No more IP addresses available on subnet s1" in caught.value.detail


def test_allocate_ipv6_canonical_text() -> None:
    assert allocate(subnet("fd00:0:0:1::/64"), ["fd00:0:0:1::2"]) == "fd00:0:0:1::3"


def test_allocate_in_a_large_subnet_is_quick() -> None:
    made = subnet("10.0.0.0/8")
    in_use = {f"10.0.{i // 256}.{i % 256}" for i in range(2, 5002)}
    assert allocate(made, in_use) == "10.0.19.138"


def test_claim_accepts_a_free_address_even_outside_the_pools() -> None:
    made = subnet("10.0.0.0/24", allocation_pools=[AllocationPool("10.0.0.10", "10.0.0.20")])
    assert claim(made, "10.0.0.200", []) == "10.0.0.200"
    assert claim(subnet("fd00::/64"), "FD00::0005", []) == "fd00::5"


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("10.0.1.5", "not a valid IP for the subnet"),
        ("fd00::5", "not a valid IP for the subnet"),
        ("10.0.0.0", "network or broadcast"),
        ("10.0.0.7", "network or broadcast"),
    ],
)
def test_claim_outside_the_subnet_is_400(address: str, words: str) -> None:
    with pytest.raises(InvalidIpForSubnet) as caught:
        claim(subnet(), address, [])
    assert caught.value.status == 400
    assert words in caught.value.detail


def test_claim_of_a_malformed_address_is_400() -> None:
    with pytest.raises(InvalidInput) as caught:
        claim(subnet(), "10.0.0", [])
    assert caught.value.fields["field"] == "fixed_ip"


@pytest.mark.parametrize("address", ["10.0.0.3", "10.0.0.1"])
def test_claim_of_a_taken_address_or_the_gateway_is_409(address: str) -> None:
    with pytest.raises(IpAddressAlreadyAllocated) as caught:
        claim(subnet(), address, ["10.0.0.3"])
    assert caught.value.status == 409
    assert caught.value.fields["ip_address"] == address


def test_mac_for_is_deterministic_locally_administered_unicast_and_spread() -> None:
    mac = mac_for("port-1")
    assert mac == mac_for("port-1")
    assert parse_mac(mac) == mac
    first = int(mac[:2], 16)
    assert first & 0b10 and not first & 0b1
    assert len({mac_for(f"port-{i}") for i in range(2000)}) == 2000


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("01:00:5e:00:00:01", "multicast"),
        ("00:00:00:00:00:00", "not a valid MAC"),
        ("fa:16:3e:00:00", "not a valid MAC"),
        ("fa:16:3e:00:00:zz", "not a valid MAC"),
    ],
)
def test_parse_mac_refuses_what_cannot_be_a_port_mac(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_mac(text)
    assert words in caught.value.detail


def test_parse_mac_normalises() -> None:
    assert parse_mac("FA-16-3E-0A-0B-0C") == "fa:16:3e:0a:0b:0c"
