"""Keeping an all-in-one's agent from writing while a test compares before and after."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Dockyard


@contextlib.contextmanager
def quiet_agent(dockyard: Dockyard) -> Iterator[threading.Lock]:
    """A lock the agent's periodic sync and host reports must hold to run.

    Those legitimately rewrite ``status_detail`` ("Up 3 seconds"), ``updated_at`` and
    the host's figures; holding the lock from one snapshot to the next keeps that out
    of the comparison without weakening it.
    """
    lock = threading.Lock()
    agent = dockyard.node.agent

    def serialised(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(*args, **kwargs)

        return call

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(agent.reconciler, "run", serialised(agent.reconciler.run))
        patch.setattr(agent, "report_host", serialised(agent.report_host))
        yield lock
