"""The request a thread is working for, so that every log line can name it.

The API binds it when a request arrives; RPC carries it to the agent and the
conductor (in the message's context), and the agent binds it again on the worker
thread that runs the operation. Periodic work runs with none bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RequestScope:
    """Who asked (empty when unknown, e.g. on an agent) and the request's id."""

    request_id: str
    user_id: str = ""
    project_id: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RequestScope | None:
        """The scope a peer sent, or None when it sent none (or something else)."""
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            return None
        user_id, project_id = data.get("user_id", ""), data.get("project_id", "")
        return cls(
            request_id[:128],
            user_id[:255] if isinstance(user_id, str) else "",
            project_id[:255] if isinstance(project_id, str) else "",
        )


_CURRENT: ContextVar[RequestScope | None] = ContextVar("dockyard_request", default=None)


def current() -> RequestScope | None:
    return _CURRENT.get()


@contextmanager
def bound(scope: RequestScope | None) -> Iterator[None]:
    """Run the block on behalf of ``scope`` (None: on behalf of no request)."""
    token = _CURRENT.set(scope)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def bind(scope: RequestScope | None) -> None:
    """Set the scope for the rest of this context (the API's request thread, which
    :func:`bound` cannot wrap because the user is known only after authentication)."""
    _CURRENT.set(scope)
