"""Security groups in the kernel: replace this host's nftables table in one transaction."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Final

from dockyard.domain.errors import DriverError
from dockyard.domain.firewall import HostFirewall
from dockyard.drivers.network.local.nftables import TABLE_PREFIX, TableNames, render

#: Runs a command with ``stdin`` text and returns its stdout; raises ``DriverError``.
Runner = Callable[[Sequence[str], str | None], str]

NFT: Final = "nft"
#: What ``nft`` says of a table that is not there.
_ABSENT: Final = "No such file or directory"


def run_command(argv: Sequence[str], stdin: str | None) -> str:
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"{argv[0]} could not run: {exc}") from exc
    if done.returncode != 0:
        raise DriverError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


class NftablesFirewall:
    """Enforces one host's security groups, for one Dockyard installation.

    Owns exactly one nftables table (named after installation and host) and
    touches nothing else. Each apply replaces the table atomically, so a
    failed apply leaves the previous rules in force.
    """

    def __init__(self, installation: str, host: str, run: Runner = run_command) -> None:
        self.names = TableNames(installation, host)
        self._run = run
        self._lock = threading.Lock()
        #: The script this object last applied successfully (None: none, or unknown).
        self._applied: str | None = None

    def apply(self, firewall: HostFirewall, only_if_changed: bool = False) -> bool:
        """Make the kernel enforce exactly ``firewall`` (idempotent; safe to repeat).

        ``only_if_changed`` (the periodic pass): skip when this is what was last
        applied and the table is where it should be. Every apply replaces the
        table, and each replacement makes any ``nft`` reading the ruleset at that
        moment start its read again: a loop re-applying the same rules on many
        hosts of one kernel only slows everyone's ``nft`` down. A table lost
        (deleted, flushed with the ruleset, a reboot) is put back. Returns
        whether the kernel was written.
        """
        script = render(firewall, self.names)
        with self._lock:
            unchanged = only_if_changed and script == self._applied
            if unchanged and self.present() == bool(firewall.ports):
                return False
            self._applied = None
            self._run([NFT, "-f", "-"], script)
            self._applied = script
            return True

    def clear(self) -> None:
        """Remove this installation and host's table (and so every rule it held)."""
        self.apply(HostFirewall())

    def present(self) -> bool:
        """Whether this installation and host's table is in the kernel.

        Asks for this table alone: ``nft list tables`` (nft 1.0.6) reads the whole
        ruleset first, every table's rules and set elements included — 2–7 s here
        beside one 1,500-port table, and started over whenever another writer
        changes the ruleset meanwhile — where this reads only ours (~20 ms).
        """
        try:
            self._run([NFT, "list", "table", "inet", self.names.table], None)
        except DriverError as exc:
            if _ABSENT in exc.detail:
                return False
            raise
        return True


def dockyard_tables(run: Runner = run_command) -> list[str]:
    """Names of every Dockyard table in the kernel (any installation, any host).

    Slow beside big tables (nft reads the whole ruleset): not for periodic use.
    """
    listed = run([NFT, "list", "tables", "inet"], None)
    names = (line.split()[-1] for line in listed.splitlines() if line.startswith("table inet "))
    return sorted(name for name in names if name.startswith(TABLE_PREFIX))


def kernel_tools_present() -> bool:
    """Whether this machine has the ``nft`` command the firewall runs."""
    return shutil.which(NFT) is not None
