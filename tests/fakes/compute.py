"""A recording ``ComputeAPI`` for service tests: no broker, no agent.

Every call is checked against ``ComputeAPI``'s own signature (a misspelt method or a
wrong argument fails as it would against the real client) and recorded as
``(name, args)``, the arguments in the signature's order from the host on.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dockyard.domain.errors import DockyardError
from dockyard.rpc.api import ComputeAPI


@dataclass
class FakeCompute:
    """Knobs: ``fail[name]`` raises, ``hooks[name]`` runs once before the call fails or
    returns, ``results[name]`` is what the call returns (default None)."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    fail: dict[str, DockyardError] = field(default_factory=dict)
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(ComputeAPI, name, None)
        if name.startswith("_") or not callable(method):
            raise AttributeError(f"ComputeAPI has no method {name!r}")
        signature = inspect.signature(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(self, *args, **kwargs)
            self.calls.append((name, tuple(bound.arguments.values())[1:]))
            hook = self.hooks.pop(name, None)
            if hook is not None:
                hook()
            if name in self.fail:
                raise self.fail[name]
            return self.results.get(name)

        return call

    def names(self) -> list[str]:
        """The methods called, in order."""
        return [name for name, _ in self.calls]

    def targets(self) -> list[tuple[str, str]]:
        """(method, host) of every call, in order."""
        return [(name, args[0]) for name, args in self.calls]
