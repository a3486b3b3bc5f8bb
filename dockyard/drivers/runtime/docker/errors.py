"""Translation of docker-py exceptions into Dockyard's domain errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker.errors

from dockyard.domain.errors import Conflict, DriverError, InvalidInput, NotFound
from dockyard.drivers.docker_engine import engine_errors, explanation

# Some engines (20.10 for unpause) answer 500 where the refusal is about the container's state.
_STATE_HINTS = (
    "is not running",
    "is not paused",
    "is already paused",
    "is paused",
    "is restarting",
)
# ... and 500 where the archive endpoints refuse what the client sent.
_INPUT_HINTS = ("Error processing tar file", "extraction point is not a directory")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Re-raise docker-py failures as domain errors; usable as ``with`` or decorator."""
    with engine_errors():
        try:
            yield
        except docker.errors.NotFound as exc:
            raise NotFound(explanation(exc)) from exc
        except docker.errors.APIError as exc:
            status = exc.status_code
            if status == 409 or any(hint in explanation(exc) for hint in _STATE_HINTS):
                raise Conflict(explanation(exc)) from exc
            if status == 400 or any(hint in explanation(exc) for hint in _INPUT_HINTS):
                raise InvalidInput(explanation(exc)) from exc
            raise DriverError(f"Docker Engine error ({status}): {explanation(exc)}") from exc
