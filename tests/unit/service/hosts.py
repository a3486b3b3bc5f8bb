"""A small registered host for the service tests that run on a real SQLite database."""

from __future__ import annotations

from typing import Any

#: What an agent of a 2-CPU, 1 GiB host reports.
SMALL_HOST: dict[str, Any] = {
    "cpus": 2,
    "memory_mib": 1024,
    "disk_gib": 10,
    "cpu_capacity_milli": 2000,
    "memory_capacity": 1024,
    "runtimes": ["runc"],
    "info": {},
}
