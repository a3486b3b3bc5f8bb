"""One agent process per host: a live holder refuses a second, a crashed one is taken over."""

from __future__ import annotations

import pytest

from dockyard.compute.host_claim import HostClaim, HostInUse
from dockyard.domain.host_agent import HostAgent
from tests.fakes.control import RecordingControl

HOST = "node-1"
STALE_AFTER = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        """What RecordingControl reads claims' renewal times from."""
        return self.now


def agent(token: str, machine: str = "m1", pid: int = 100) -> HostAgent:
    return HostAgent(HOST, token, machine, pid, f"dockyard up ({token})")


def claim(
    control: RecordingControl,
    me: HostAgent,
    clock: Clock,
    alive: bool = True,
    on_sleep: object = None,
) -> HostClaim:
    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if callable(on_sleep):
            on_sleep()

    return HostClaim(control, me, STALE_AFTER, sleep=sleep, clock=clock, alive=lambda pid: alive)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def control(clock: Clock) -> RecordingControl:
    control = RecordingControl()
    control.clock = clock  # type: ignore[assignment]  # only monotonic() is read
    return control


def test_a_free_host_is_taken_at_once(control: RecordingControl, clock: Clock) -> None:
    claim(control, agent("a"), clock).take()

    assert control.holders[HOST][0].token == "a"
    assert clock.now == 1000.0


def test_a_live_holder_makes_a_second_agent_refuse_naming_it(
    control: RecordingControl, clock: Clock
) -> None:
    first = claim(control, agent("a", machine="m2", pid=7), clock)
    first.take()
    # The first agent renews with every heartbeat while the second one waits.
    second = claim(control, agent("b"), clock, on_sleep=first.renew)

    with pytest.raises(HostInUse) as refused:
        second.take()

    message = str(refused.value)
    assert "dockyard up (a) (pid 7 on m2)" in message
    assert f"Host {HOST}" in message
    assert control.holders[HOST][0].token == "a"
    assert clock.now >= 1000.0 + STALE_AFTER  # it gave the holder the whole window


def test_a_crashed_holder_on_another_machine_is_taken_over_once_its_claim_lapses(
    control: RecordingControl, clock: Clock
) -> None:
    claim(control, agent("a", machine="m2"), clock).take()

    claim(control, agent("b"), clock).take()  # "a" never renews: it crashed

    assert control.holders[HOST][0].token == "b"
    assert 1000.0 + STALE_AFTER <= clock.now <= 1000.0 + STALE_AFTER + 1


def test_a_crashed_holder_on_this_machine_is_taken_over_at_once(
    control: RecordingControl, clock: Clock
) -> None:
    claim(control, agent("a", pid=7), clock).take()

    claim(control, agent("b", pid=8), clock, alive=False).take()

    assert control.holders[HOST][0].token == "b"
    assert clock.now == 1000.0


def test_a_live_holder_on_this_machine_is_not_taken_over(
    control: RecordingControl, clock: Clock
) -> None:
    first = claim(control, agent("a", pid=7), clock)
    first.take()

    with pytest.raises(HostInUse):
        claim(control, agent("b", pid=8), clock, alive=True, on_sleep=first.renew).take()


def test_a_released_host_is_free_again(control: RecordingControl, clock: Clock) -> None:
    first = claim(control, agent("a", machine="m2"), clock)
    first.take()
    first.release()

    claim(control, agent("b"), clock).take()

    assert control.holders[HOST][0].token == "b"
    assert clock.now == 1000.0
