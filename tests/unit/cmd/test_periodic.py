from __future__ import annotations

import threading

from dockyard.cmd.periodic import Periodic


def test_runs_repeatedly_survives_failures_and_stops() -> None:
    calls: list[int] = []
    third = threading.Event()

    def task() -> None:
        calls.append(1)
        if len(calls) == 3:
            third.set()
        if len(calls) == 1:
            raise RuntimeError("the first pass fails")

    loop = Periodic("test-loop", 0.01, task)
    loop.start()
    assert third.wait(5)
    loop.stop()
    stopped_at = len(calls)

    assert stopped_at >= 3
    assert not loop._thread.is_alive()
    third.clear()
    assert not third.wait(0.05) and len(calls) == stopped_at
