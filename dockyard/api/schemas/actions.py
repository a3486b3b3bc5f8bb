"""Request schemas of the container action endpoints (stop, kill, logs, exec, ...).

All are objects with ``additionalProperties: false``: an unknown parameter is
a 400. Validate the query-only ones (§1.3 "query schema") against the query
string alone and the rest against the merged arguments.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from dockyard.api.schemas.containers import name_schema
from dockyard.api.schemas.validation import BOOL, BOOL_EXT

__all__ = [
    "SIGNALS",
    "commit_query",
    "execute_query",
    "execute_resize_query",
    "kill_body",
    "logs_query",
    "reboot_query",
    "rename_query",
    "resize_query",
    "signal_spellings",
    "stop_query",
    "top_query",
]

# Linux signal names (without SIG) and numbers accepted by kill.
SIGNALS: Final[tuple[tuple[str, int], ...]] = (
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
    ("RTMIN", 34),
    ("RTMAX", 64),
)

_EXEC_ID: Final = "^[a-f0-9]{64}$"
# Epoch seconds, "None", or text containing "YYYY-MM-DD HH:MM:SS,fff".
#: The last second of year 9999: the engine parses ``since`` as a 64-bit integer and
#: answers a larger one with a 500.
MAX_SINCE: Final = 253_402_300_799
_SINCE: Final = r"^[0-9]*$|^None$|[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}"


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def _non_negative() -> dict[str, Any]:
    return {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0}


def _positive() -> dict[str, Any]:
    return {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1}


def signal_spellings() -> list[str]:
    """Every accepted signal spelling: SIGKILL, KILL, sigkill, kill and "9" per signal."""
    spellings: list[str] = []
    for name, number in SIGNALS:
        spellings += [f"SIG{name}", name, f"sig{name.lower()}", name.lower(), str(number)]
    return spellings


def stop_query() -> dict[str, Any]:
    """``timeout`` in seconds: a non-negative integer or a digit string."""
    return _object({"timeout": _non_negative()})


def reboot_query() -> dict[str, Any]:
    """Same parameters as :func:`stop_query`."""
    return stop_query()


def kill_body() -> dict[str, Any]:
    """``signal``: one of :func:`signal_spellings`, ``"None"`` or null (numbers as strings)."""
    return _object(
        {"signal": {"type": ["string", "null"], "enum": [*signal_spellings(), "None", None]}}
    )


def logs_query() -> dict[str, Any]:
    flags = {key: copy.deepcopy(BOOL_EXT) for key in ("stdout", "stderr", "timestamps")}
    return _object(
        {
            **flags,
            "tail": {"type": ["string", "integer"]},
            "since": {
                "type": ["string", "integer"],
                "pattern": _SINCE,
                "minimum": 0,
                "maximum": MAX_SINCE,
            },
        }
    )


def execute_query() -> dict[str, Any]:
    return _object(
        {
            "command": {"type": "string", "minLength": 1},
            "run": copy.deepcopy(BOOL),
            "interactive": copy.deepcopy(BOOL),
        },
        required=["command"],
    )


def execute_resize_query() -> dict[str, Any]:
    return _object(
        {"exec_id": {"type": "string", "pattern": _EXEC_ID}, "h": _positive(), "w": _positive()},
        required=["exec_id"],
    )


def resize_query() -> dict[str, Any]:
    """TTY size; missing ``h``/``w`` are passed on as absent."""
    return _object({"h": _positive(), "w": _positive()})


def top_query() -> dict[str, Any]:
    return _object({"ps_args": {"type": "string"}})


def commit_query() -> dict[str, Any]:
    return _object(
        {"repository": {"type": "string"}, "tag": {"type": "string"}}, required=["repository"]
    )


def rename_query() -> dict[str, Any]:
    return _object({"name": name_schema(null=False)}, required=["name"])


def security_group_args() -> dict[str, Any]:
    """``name``: the security group's name or id (query or body)."""
    text = {"type": "string", "minLength": 1, "maxLength": 255}
    return _object({"name": text}, required=["name"])


def network_attach_args() -> dict[str, Any]:
    """``network`` or ``port`` (not both; neither: the project's network), ``fixed_ip``."""
    text = {"type": "string", "minLength": 1, "maxLength": 255}
    address = {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
    return _object(
        {"network": text, "port": text, "fixed_ip": address},
        **{"not": {"required": ["network", "port"]}},
    )


def network_detach_args() -> dict[str, Any]:
    """Exactly one of ``network`` and ``port``."""
    text = {"type": "string", "minLength": 1, "maxLength": 255}
    return _object(
        {"network": text, "port": text},
        oneOf=[{"required": ["network"]}, {"required": ["port"]}],
    )
