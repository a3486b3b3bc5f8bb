"""Which commands the applier runs; the kernel: tests/contract/test_firewall_kernel.py."""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.drivers.network.local.firewall import IptablesFirewall

EMPTY_SAVE = (
    "*filter\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT\n"
)


class Commands:
    """Answers every save with an empty table and records what ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str | None]] = []

    def __call__(self, argv: Sequence[str], stdin: str | None) -> str:
        self.ran.append((argv[0], stdin))
        return EMPTY_SAVE if argv[0].endswith("-save") else ""

    def tools(self) -> list[str]:
        return [tool for tool, _ in self.ran]


def firewall_of(*addresses: str) -> HostFirewall:
    return HostFirewall((GuardedPort("p1", "c1", addresses, ()),))


def test_ipv6_is_read_once_to_clean_up_then_left_alone_without_ipv6_ports() -> None:
    commands = Commands()
    firewall = IptablesFirewall("inst", "host", run=commands)
    firewall.apply(firewall_of("10.0.0.2"))
    assert commands.tools() == ["iptables-save", "iptables-restore", "ip6tables-save"]
    commands.ran.clear()
    firewall.apply(firewall_of("10.0.0.2"))
    assert "ip6tables-save" not in commands.tools()


def test_ipv6_ports_are_applied_with_ip6tables() -> None:
    commands = Commands()
    IptablesFirewall("inst", "host", run=commands).apply(firewall_of("10.0.0.2", "fd00::2"))
    assert commands.tools() == [
        "iptables-save",
        "iptables-restore",
        "ip6tables-save",
        "ip6tables-restore",
    ]
    restore_v6 = commands.ran[-1][1]
    assert restore_v6 is not None and "-s fd00::2/128" in restore_v6
    assert "-I DOCKER-USER 1" in restore_v6  # the canned save has a DOCKER-USER chain


def test_restore_runs_with_noflush_and_a_lock_wait() -> None:
    seen: list[list[str]] = []

    def run(argv: Sequence[str], stdin: str | None) -> str:
        seen.append(list(argv))
        return EMPTY_SAVE

    IptablesFirewall("inst", "host", run=run).apply(firewall_of("10.0.0.2"))
    assert seen[1] == ["iptables-restore", "-w", "10", "--noflush"]
