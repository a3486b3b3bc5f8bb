"""What a process's open file descriptors are, read from /proc (bench only).

``fd_kinds`` names each descriptor by what it reaches rather than by its number, so
two readings can be compared: a TCP socket by its peer's port (``tcp -> :5432``, the
database; ``tcp -> :5672``, the broker) or the port it listens on, a unix socket by
its path (or its peer's, when it has none), anything else by its link target with
inode numbers dropped (``pipe``, ``anon_inode:[eventpoll]``, a file's path).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

_SOCKET = re.compile(r"socket:\[(\d+)\]")
_NUMBERED = re.compile(r":\[\d+\]$")
#: The TCP state column of /proc/net/tcp for a listening socket.
_LISTEN = "0A"


def _tcp_sockets(pid: int) -> dict[str, str]:
    """inode -> description of every TCP socket in the process's network namespace."""
    found: dict[str, str] = {}
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        try:
            lines = path.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            state, inode = fields[3], fields[9]
            if state == _LISTEN:
                found[inode] = f"tcp listening :{local_port}"
            else:
                found[inode] = f"tcp -> :{remote_port}"
    return found


def _unix_sockets(pid: int) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        lines = Path(f"/proc/{pid}/net/unix").read_text().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) >= 7:
            found[fields[6]] = f"unix {fields[7]}" if len(fields) > 7 else "unix"
    return found


def fd_kinds(pid: int) -> Counter[str]:
    """How many of the process's descriptors are of each kind (see the module's text)."""
    kinds: Counter[str] = Counter()
    tcp = _tcp_sockets(pid)
    unix = _unix_sockets(pid)
    base = f"/proc/{pid}/fd"
    for name in os.listdir(base):
        try:
            target = os.readlink(f"{base}/{name}")
        except OSError:
            continue  # closed between the listing and the read
        socket = _SOCKET.fullmatch(target)
        if socket is not None:
            inode = socket.group(1)
            kinds[tcp.get(inode) or unix.get(inode) or "socket (other)"] += 1
        else:
            kinds[_NUMBERED.sub("", target)] += 1
    return kinds


def fd_change(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    """Kinds whose count differs between two readings, with the difference."""
    return {
        kind: after[kind] - before[kind]
        for kind in sorted(set(before) | set(after))
        if after[kind] != before[kind]
    }
