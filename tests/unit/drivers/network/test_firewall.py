"""Which commands the applier runs; the kernel: tests/contract/test_firewall_kernel.py."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dockyard.domain.errors import DriverError
from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.drivers.network.local.firewall import NftablesFirewall, dockyard_tables

LISTING = "table inet filter\ntable inet dockyard_0123456789ab\ntable inet dockyard_aaaaaaaaaaaa\n"


class Commands:
    def __init__(self, answer: str = "") -> None:
        self.ran: list[tuple[list[str], str | None]] = []
        self.answer = answer

    def __call__(self, argv: Sequence[str], stdin: str | None) -> str:
        self.ran.append((list(argv), stdin))
        return self.answer


def test_apply_feeds_the_whole_table_to_one_nft_run() -> None:
    commands = Commands()
    firewall = NftablesFirewall("inst", "host", run=commands)
    firewall.apply(HostFirewall((GuardedPort("p1", "c1", ("10.0.0.2",), ()),)))
    ((argv, script),) = commands.ran
    assert argv == ["nft", "-f", "-"]
    assert script is not None and f"table inet {firewall.names.table} {{" in script


def test_clear_deletes_only_this_table() -> None:
    commands = Commands()
    firewall = NftablesFirewall("inst", "host", run=commands)
    firewall.clear()
    table = firewall.names.table
    assert commands.ran == [
        (["nft", "-f", "-"], f"table inet {table} {{}}\ndelete table inet {table}\n")
    ]


def test_dockyard_tables_lists_only_dockyards() -> None:
    assert dockyard_tables(Commands(LISTING)) == ["dockyard_0123456789ab", "dockyard_aaaaaaaaaaaa"]


def test_a_failing_nft_is_a_driver_error() -> None:
    def refuse(argv: Sequence[str], stdin: str | None) -> str:
        raise DriverError("nft -f - failed (1): Operation not permitted")

    with pytest.raises(DriverError, match="not permitted"):
        NftablesFirewall("inst", "host", run=refuse).clear()


GUARDED = HostFirewall((GuardedPort("p1", "c1", ("10.0.0.2",), ()),))
ABSENT = "nft list table inet t failed (1): Error: No such file or directory"


class Kernel(Commands):
    """Answers ``nft list table`` as the kernel would, with or without the table."""

    def __init__(self, has_table: bool) -> None:
        super().__init__()
        self.has_table = has_table

    def __call__(self, argv: Sequence[str], stdin: str | None) -> str:
        answer = super().__call__(argv, stdin)
        if argv[1:3] == ["list", "table"] and not self.has_table:
            raise DriverError(ABSENT)
        return answer


def test_the_periodic_pass_leaves_an_unchanged_table_alone() -> None:
    firewall = NftablesFirewall("inst", "host", run=Commands())
    firewall.apply(GUARDED)
    kernel = Kernel(has_table=True)
    firewall._run = kernel

    assert firewall.apply(GUARDED, only_if_changed=True) is False
    # Only our table is read: ``list tables`` would read every table's rules first.
    assert kernel.ran == [(["nft", "list", "table", "inet", firewall.names.table], None)]


def test_the_periodic_pass_puts_a_lost_table_back() -> None:
    firewall = NftablesFirewall("inst", "host", run=Commands())
    firewall.apply(GUARDED)
    kernel = Kernel(has_table=False)  # deleted, or the ruleset flushed
    firewall._run = kernel

    assert firewall.apply(GUARDED, only_if_changed=True) is True
    assert [argv for argv, _ in kernel.ran][-1] == ["nft", "-f", "-"]


def test_an_unanswered_presence_check_is_an_error_not_an_absence() -> None:
    def broken(argv: Sequence[str], stdin: str | None) -> str:
        raise DriverError("nft could not run: timed out")

    with pytest.raises(DriverError, match="timed out"):
        NftablesFirewall("inst", "host", run=broken).present()


def test_a_change_is_always_written_and_a_failed_write_is_retried() -> None:
    kernel = Kernel(has_table=True)
    firewall = NftablesFirewall("inst", "host", run=kernel)
    assert firewall.apply(GUARDED, only_if_changed=True) is True
    assert firewall.apply(HostFirewall(), only_if_changed=True) is True

    def refuse(argv: Sequence[str], stdin: str | None) -> str:
        raise DriverError("nft -f - failed (1)")

    firewall._run = refuse
    with pytest.raises(DriverError):
        firewall.apply(GUARDED)
    firewall._run = kernel
    kernel.ran.clear()
    # Unknown after a failure: written again though it is what was asked last.
    assert firewall.apply(GUARDED, only_if_changed=True) is True
    assert [argv for argv, _ in kernel.ran] == [["nft", "-f", "-"]]
