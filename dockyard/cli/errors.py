"""What the command line reports as a failure, and the exit code it ends with."""

from __future__ import annotations

#: Docker's exit codes: a failed command, and a `run` the service itself refused.
FAILURE = 1
RUN_FAILED = 125
CANNOT_INVOKE = 126
NOT_FOUND_COMMAND = 127


class CLIError(Exception):
    """A failure to print as ``Error: <message>`` before exiting with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(CLIError):
    """Bad flags or arguments: exit 125, as Docker does."""

    def __init__(self, message: str) -> None:
        super().__init__(message, RUN_FAILED)


class APIError(CLIError):
    """The API answered with an error status; ``detail`` is what it said."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"Error response from server: {detail}", FAILURE)
        self.status = status
        self.detail = detail
