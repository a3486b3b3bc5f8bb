"""Which agent process serves a host: at most one at a time per installation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HostAgent:
    """One agent process serving ``host``; it renews its claim with every heartbeat."""

    host: str
    #: Unique to this process (a restarted agent has a new one).
    token: str
    #: The machine's name and the process id, to tell a crashed holder from a live one.
    machine: str
    pid: int
    #: How a person recognises the process ("dockyard up, API on 127.0.0.1:9517, ...").
    description: str

    def named(self) -> str:
        return f"{self.description} (pid {self.pid} on {self.machine})"
