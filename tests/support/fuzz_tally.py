"""What a fuzzing run sent: requests, answers by status, and the operations reached."""

from __future__ import annotations

import threading


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.operations: set[str] = set()
        self.lock = threading.Lock()

    def count(self, operation: str, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.operations.add(operation)
