"""Security groups in the kernel: apply a host's rules with ``iptables-restore --noflush``.

Docker 20.10 keeps its rules with the ``iptables`` command (``iptables-nft``
on Debian 12), and ``DOCKER-USER`` is an iptables chain, so Dockyard's chains
are made the same way. Each apply reads the ``filter`` table once, and writes
only what differs in one ``iptables-restore`` transaction: the kernel never
sees half a change, and other chains are never flushed.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Final

from dockyard.domain.errors import DriverError
from dockyard.domain.firewall import HostFirewall
from dockyard.drivers.network.local.iptables import (
    ChainNames,
    Installed,
    parse_save,
    render,
    restore_script,
)

#: Runs a command with ``stdin`` text and returns its stdout; raises ``DriverError``.
Runner = Callable[[Sequence[str], str | None], str]

_TOOLS: Final = {
    4: ("iptables-save", "iptables-restore"),
    6: ("ip6tables-save", "ip6tables-restore"),
}
_WAIT_SECONDS: Final = "10"


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


class IptablesFirewall:
    """Enforces one host's security groups, for one Dockyard installation.

    Touches only chains named after (installation, host) and the single jump into
    them. IPv6 is left alone until a guarded port has an IPv6 address, except
    once per process, to remove chains an earlier run left.
    """

    def __init__(self, installation: str, host: str, run: Runner = run_command) -> None:
        self.names = ChainNames.of(installation, host)
        self._run = run
        self._lock = threading.Lock()
        self._ipv6_in_use: bool | None = None  # None: not known yet (first apply)

    def apply(self, firewall: HostFirewall) -> None:
        """Make the kernel enforce exactly ``firewall`` (idempotent; safe to repeat)."""
        with self._lock:
            self._apply_family(firewall, 4)
            wants_ipv6 = any(":" in a for port in firewall.ports for a in port.addresses)
            if wants_ipv6 or self._ipv6_in_use is not False:
                self._ipv6_in_use = self._apply_family(firewall, 6) or wants_ipv6

    def clear(self) -> None:
        """Remove every chain of this installation and host, and the jumps into them."""
        self.apply(HostFirewall())

    def installed(self, version: int = 4) -> Installed:
        """What the kernel holds of this installation and host's chains."""
        return parse_save(self._save(version), self.names)

    def _save(self, version: int) -> str:
        save, _ = _TOOLS[version]
        return self._run([save, "-t", "filter"], None)

    def _apply_family(self, firewall: HostFirewall, version: int) -> bool:
        """Apply one family's chains; whether any of ours remain."""
        desired = render(firewall, self.names, version)
        script = restore_script(desired, parse_save(self._save(version), self.names), self.names)
        if script is not None:
            _, restore = _TOOLS[version]
            self._run([restore, "-w", _WAIT_SECONDS, "--noflush"], script)
        return bool(desired)


def kernel_tools_present() -> bool:
    """Whether this machine has the iptables tools the firewall runs."""
    return all(shutil.which(tool) for tools in _TOOLS.values() for tool in tools)
