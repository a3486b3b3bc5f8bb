"""One agent process per host and installation: taken at start, renewed, given back.

A second agent for the same host would fight the first over every container
(each removing what the other just made), so it refuses to start, naming the
process that holds the host. A holder that crashed stops renewing: a new agent
takes over once its claim is ``stale_after`` seconds old, or at once when the
holder ran on this machine and its process is gone.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from dockyard.domain.host_agent import HostAgent
from dockyard.rpc.api import ControlAPI

LOG = logging.getLogger(__name__)


class HostInUse(Exception):
    """Another live agent process of this installation serves the host."""


def this_process(host: str, description: str) -> HostAgent:
    return HostAgent(host, uuid.uuid4().hex, socket.gethostname(), os.getpid(), description)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class HostClaim:
    def __init__(
        self,
        control: ControlAPI,
        me: HostAgent,
        stale_after: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        alive: Callable[[int], bool] = process_alive,
    ) -> None:
        self.control = control
        self.me = me
        self.stale_after = stale_after
        self.sleep = sleep
        self.clock = clock
        self.alive = alive

    def take(self) -> None:
        """Hold the host, waiting out a holder that stopped renewing; else ``HostInUse``."""
        deadline = self.clock() + self.stale_after + 1
        waiting = False
        while True:
            holder = self.control.claim_host(self.me, self.stale_after)
            if holder is None:
                return
            if self._gone(holder):
                LOG.info("taking host %s over from %s, which is gone", self.me.host, holder.named())
                if self.control.claim_host(self.me, 0.0) is None:
                    return
                continue
            if self.clock() >= deadline:
                raise HostInUse(
                    f"Host {self.me.host} of this installation is already served by "
                    f"{holder.named()}, which renewed its claim within the last "
                    f"{self.stale_after:g} s. Stop it first, or give this service another "
                    "[DEFAULT] host."
                )
            if not waiting:
                waiting = True
                LOG.info(
                    "host %s is held by %s; waiting up to %.0f s for its claim to lapse",
                    self.me.host,
                    holder.named(),
                    deadline - self.clock(),
                )
            self.sleep(1.0)

    def renew(self) -> None:
        holder = self.control.claim_host(self.me, self.stale_after)
        if holder is not None:
            LOG.error(
                "host %s is now held by %s: this agent missed its renewals",
                self.me.host,
                holder.named(),
            )

    def release(self) -> None:
        self.control.release_host(self.me)

    def _gone(self, holder: HostAgent) -> bool:
        """A holder on this machine whose process ended (or this very process: an
        earlier agent object of it, which a process only makes when it starts over)."""
        if holder.machine != self.me.machine:
            return False
        return holder.pid == self.me.pid or not self.alive(holder.pid)
