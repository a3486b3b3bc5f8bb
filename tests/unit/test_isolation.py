"""The unit-test guard itself: no subprocesses, no unix sockets; TCP in-process is fine."""

from __future__ import annotations

import contextlib
import socket
import subprocess

import pytest

from tests.unit.conftest import Guard, IsolationError


def test_subprocesses_are_refused(isolation_guard: Guard) -> None:
    with pytest.raises(IsolationError, match="subprocess"):
        subprocess.run(["true"], check=False)
    with pytest.raises(IsolationError, match="subprocess"):
        subprocess.Popen(["docker", "ps"])

    assert len(isolation_guard.violations) == 2
    isolation_guard.violations.clear()  # expected here: do not fail this test


def test_unix_sockets_are_refused(isolation_guard: Guard) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        with pytest.raises(IsolationError, match="unix socket"):
            sock.connect("/var/run/docker.sock")
        with pytest.raises(IsolationError, match="unix socket"):
            sock.connect_ex("/var/run/docker.sock")

    assert len(isolation_guard.violations) == 2
    isolation_guard.violations.clear()


def test_a_swallowed_attempt_is_still_recorded(isolation_guard: Guard) -> None:
    with contextlib.suppress(Exception):  # what careless code under test might do
        subprocess.check_output(["docker", "version"])

    assert isolation_guard.violations
    isolation_guard.violations.clear()


def test_loopback_tcp_still_works() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
            conn, _ = server.accept()
            conn.close()
