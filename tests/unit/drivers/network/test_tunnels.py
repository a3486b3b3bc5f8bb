"""Names and the gateway guard of the tunnels; the kernel: tests/contract/test_tunnels_kernel.py."""

from __future__ import annotations

from dockyard.drivers.network.local.nftables import TableNames
from dockyard.drivers.network.local.tunnels import TunnelNames, render_arp_guard

NAMES = TableNames("inst", "host")


def test_names_fit_linux_and_tell_owners_apart() -> None:
    mine, other = TunnelNames("inst", "host-1"), TunnelNames("inst", "host-2")
    assert len(mine.device("n1")) == len(mine.bridge("n1")) == 15
    assert mine.device("n1") != other.device("n1") and mine.device("n1") != mine.device("n2")
    assert mine.network_of(mine.alias("n1")) == "n1"
    assert other.network_of(mine.alias("n1")) is None
    assert mine.network_of("some other alias") is None


def test_nothing_guarded_removes_the_table() -> None:
    table = f"bridge {NAMES.table}"
    assert render_arp_guard(NAMES, {}) == f"table {table} {{}}\ndelete table {table}\n"


def test_gateways_are_guarded_on_every_hook_both_ways() -> None:
    script = render_arp_guard(NAMES, {"dyv1": ("10.0.0.1", "fd00::1")})
    for hook in ("input", "forward", "output"):
        assert f"type filter hook {hook} priority -10; policy accept;" in script
    for side in ("iifname", "oifname"):
        assert f'{side} "dyv1" arp daddr ip 10.0.0.1 drop' in script
        assert f'{side} "dyv1" arp saddr ip 10.0.0.1 drop' in script
        assert f'{side} "dyv1" ip6 saddr fd00::1 drop' in script
        assert f'{side} "dyv1" ip6 daddr ff02::1:ff00:1 icmpv6 type nd-neighbor-solicit drop' in (
            script
        )
