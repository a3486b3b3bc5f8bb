"""Logs of a finished container and commands run in a running one."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid as uuidlib
from collections.abc import Iterator

import pytest

from dockyard.domain.errors import Conflict
from dockyard.domain.models import ContainerSpec, LogOptions
from dockyard.domain.states import Status
from dockyard.drivers.runtime.base import RuntimeDriver
from tests.contract.runtime.support import (
    HOST,
    IMAGE,
    REAL_PROCESS,
    Factory,
    engine_only,
    wait_for_status,
)
from tests.fakes.runtime import FakeRuntime

# --- logs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chatty(runtime: RuntimeDriver) -> Iterator[ContainerSpec]:
    """A finished container that wrote to both streams; shared by the read-only log tests."""
    spec = ContainerSpec(
        uuid=str(uuidlib.uuid4()),
        name="contract-logs",
        image=IMAGE,
        host=HOST,
        # The engine copies stdout and stderr separately; pauses keep their lines in order.
        command=("sh", "-c", "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2"),
    )
    try:
        runtime.create(spec)
        runtime.start(spec.uuid)
        if isinstance(runtime, FakeRuntime):  # the fake holds no process: play its part
            for text, stream in [("out1\n", "stdout"), ("err1\n", "stderr"), ("out2\n", "stdout")]:
                runtime.say(spec.uuid, text, stream)
            runtime.exit(spec.uuid, 0)
        wait_for_status(runtime, spec.uuid, Status.STOPPED)
        yield spec
    finally:
        runtime.remove(spec.uuid, force=True)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (LogOptions(), "out1\nerr1\nout2\n"),
        (LogOptions(stderr=False), "out1\nout2\n"),
        (LogOptions(stdout=False), "err1\n"),
        (LogOptions(tail=1), "out2\n"),
        (LogOptions(since=int(time.time()) + 3600), ""),
        (LogOptions(since=dt.datetime(2000, 1, 1)), "out1\nerr1\nout2\n"),
    ],
    ids=["all", "stdout", "stderr", "tail", "since-future", "since-datetime"],
)
def test_logs(
    runtime: RuntimeDriver, chatty: ContainerSpec, options: LogOptions, expected: str
) -> None:
    assert runtime.logs(chatty.uuid, options) == expected


def test_logs_with_timestamps(runtime: RuntimeDriver, chatty: ContainerSpec) -> None:
    lines = runtime.logs(chatty.uuid, LogOptions(stderr=False, timestamps=True)).splitlines()

    assert [line.split(" ", 1)[1] for line in lines] == ["out1", "out2"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", line) for line in lines)


# --- execute --------------------------------------------------------------------------------


@engine_only(REAL_PROCESS)
def test_execute_returns_output_and_exit_code(
    runtime: RuntimeDriver, running: ContainerSpec
) -> None:
    result = runtime.execute(running.uuid, ["sh", "-c", "echo out; echo err >&2; exit 3"], 10)

    assert result.exit_code == 3
    assert sorted(result.output.splitlines()) == ["err", "out"]


@engine_only(REAL_PROCESS)
def test_execute_timeout_conflicts(runtime: RuntimeDriver, running: ContainerSpec) -> None:
    began = time.monotonic()

    with pytest.raises(Conflict, match="did not finish within"):
        runtime.execute(running.uuid, ["sleep", "30"], timeout=0.5)

    assert time.monotonic() - began < 5


def test_execute_in_a_stopped_container_conflicts(
    runtime: RuntimeDriver, make_container: Factory
) -> None:
    spec = make_container()

    with pytest.raises(Conflict):
        runtime.execute(spec.uuid, ["true"], timeout=5)
