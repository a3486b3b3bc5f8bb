"""What both Docker drivers share: reading the engine's error text and its reachability."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker.errors
import requests.exceptions

from dockyard.domain.errors import DriverError, Unavailable

# DockerException texts that mean the engine could not be talked to at all.
_CONNECTION_HINTS = ("connection", "fetching server api version", "no such file", "refused")


def explanation(exc: docker.errors.APIError) -> str:
    """The engine's own words for a failed request."""
    text = exc.explanation
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return str(text or exc).strip()


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Engine unreachable -> Unavailable; any other engine failure -> DriverError."""
    try:
        yield
    except docker.errors.APIError as exc:
        raise DriverError(f"Docker Engine error ({exc.status_code}): {explanation(exc)}") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise Unavailable(f"Docker Engine unreachable: {exc}") from exc
    except docker.errors.DockerException as exc:
        if any(hint in str(exc).lower() for hint in _CONNECTION_HINTS):
            raise Unavailable(f"Docker Engine unreachable: {exc}") from exc
        raise DriverError(f"Docker error: {exc}") from exc
