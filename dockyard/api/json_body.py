"""Parsing request bodies as strict JSON."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from dockyard.domain.errors import InvalidInput


def parse_json(data: bytes | str) -> Any:
    """``data`` as JSON; ``InvalidInput`` for anything RFC 8259 does not allow.

    Python's parser also takes ``NaN``, ``Infinity`` and ``-Infinity``, which are
    not JSON and which no field can hold, and it gives up on very deep nesting
    with ``RecursionError``: both are refused as the client's mistake.
    """
    try:
        return json.loads(data, parse_constant=_not_a_number)
    except RecursionError as exc:
        raise InvalidInput("The request body nests arrays or objects too deeply.") from exc
    except ValueError as exc:
        raise InvalidInput(f"The request body is not valid JSON: {exc}.") from exc


def _not_a_number(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")
