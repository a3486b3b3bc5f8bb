"""Unit tests run in memory: spawning a process or reaching a unix socket fails the test.

Docker is reached through ``/var/run/docker.sock`` (or a CLI subprocess), so this
guard stops a unit test from touching it by accident. The patched calls raise at
once; because the code under test may swallow that error, every attempt is also
recorded and the test is failed after its call phase.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


class IsolationError(RuntimeError):
    """A unit test tried to leave the process."""


@dataclass
class Guard:
    violations: list[str] = field(default_factory=list)

    def refuse(self, what: str) -> IsolationError:
        self.violations.append(what)
        return IsolationError(f"unit tests must not {what}")


GUARD_KEY = pytest.StashKey[Guard]()


@pytest.fixture(autouse=True)
def isolation_guard(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Guard]:
    guard = Guard()
    request.node.stash[GUARD_KEY] = guard

    def no_popen(*args: Any, **kwargs: Any) -> Any:
        raise guard.refuse(f"spawn a subprocess ({args[0] if args else kwargs.get('args')!r})")

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if self.family == socket.AF_UNIX:
            raise guard.refuse(f"connect a unix socket ({address!r})")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family == socket.AF_UNIX:
            raise guard.refuse(f"connect a unix socket ({address!r})")
        return real_connect_ex(self, address)

    monkeypatch.setattr(subprocess, "Popen", no_popen)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield guard


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    result = yield
    guard = item.stash.get(GUARD_KEY, None)
    if guard is not None and guard.violations:
        pytest.fail("test left the process: " + "; ".join(guard.violations), pytrace=False)
    return result
