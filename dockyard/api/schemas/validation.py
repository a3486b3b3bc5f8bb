"""JSON-schema validation for request bodies and query strings.

Schemas are JSON-Schema Draft 4 with three adjustments. ``minimum`` and
``maximum`` also apply to strings that parse as numbers, so ``"2"`` is
checked against a minimum of 4 just like ``2``. A non-numeric string skips
the bound check (its ``pattern`` decides). ``pattern`` treats an end anchor
``$`` as ECMA-262 does (end of input): Python's ``$`` would also accept a
trailing newline, letting ``"web\\n"`` through as a name. ``propertyNames``
(from Draft 6) is understood, to constrain the keys of a map. The ``ipv4`` and
``ipv6`` formats are checked with :mod:`ipaddress`; format ``port[/tcp|udp]``
is a port number 1-65535 with an optional protocol (``"80"``, ``"53/udp"``).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeGuard

from jsonschema import Draft4Validator, Draft6Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator

from dockyard.domain.errors import InvalidInput, SchemaValidationError

__all__ = [
    "BOOL",
    "BOOL_EXT",
    "BOOL_EXT_FALSE",
    "BOOL_EXT_TRUE",
    "BOOL_FALSE",
    "BOOL_TRUE",
    "FORMAT_CHECKER",
    "RequestValidator",
    "parse_all_projects",
    "parse_bool",
    "validate",
]

# The two boolean spellings of the API (case-sensitive as listed).
BOOL_TRUE: Final[tuple[Any, ...]] = (True, "True", "true")
BOOL_FALSE: Final[tuple[Any, ...]] = (False, "False", "false")
BOOL_EXT_TRUE: Final[tuple[Any, ...]] = (
    True,
    "True",
    "TRUE",
    "true",
    "1",
    "ON",
    "On",
    "on",
    "YES",
    "Yes",
    "yes",
)
BOOL_EXT_FALSE: Final[tuple[Any, ...]] = (
    False,
    "False",
    "FALSE",
    "false",
    "0",
    "OFF",
    "Off",
    "off",
    "NO",
    "No",
    "no",
)

BOOL: Final[dict[str, Any]] = {"enum": [*BOOL_TRUE, *BOOL_FALSE]}
BOOL_EXT: Final[dict[str, Any]] = {"enum": [*BOOL_EXT_TRUE, *BOOL_EXT_FALSE]}

_LENIENT_TRUE: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
_LENIENT_FALSE: Final = frozenset({"0", "f", "false", "off", "n", "no"})

_VALUE_LIMIT: Final = 100
_MESSAGE_LIMIT: Final = 300

_Keyword = Callable[[Validator, Any, Any, Mapping[str, Any]], Iterator[ValidationError] | None]


def _as_number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _numeric_strings(original: _Keyword) -> _Keyword:
    """Wrap a bound keyword so that numeric strings are compared as numbers."""

    def check(
        validator: Validator, bound: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if isinstance(instance, str):
            number = _as_number(instance)
            if number is None:
                return
            instance = number
        yield from original(validator, bound, instance, schema) or ()

    return check


_END_ANCHOR: Final = re.compile(r"(?<!\\)\$(?=\)|\||\Z)")


@functools.lru_cache(maxsize=256)
def _ecma_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(_END_ANCHOR.sub(r"\\Z", pattern))


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


FORMAT_CHECKER: Final = FormatChecker(formats=())


@FORMAT_CHECKER.checks("ipv4")
def _is_ipv4(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        ipaddress.IPv4Address(instance)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("ipv6")
def _is_ipv6(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        ipaddress.IPv6Address(instance)
    except ValueError:
        return False
    return True


_PORT_SPEC: Final = re.compile(r"([0-9]+)(/(tcp|udp))?")


@FORMAT_CHECKER.checks("port[/tcp|udp]")
def _is_port_spec(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    match = _PORT_SPEC.fullmatch(instance)
    return match is not None and 1 <= int(match.group(1)) <= 65535


# ``validators.extend`` carries no annotations; name the type it returns.
_extend: Callable[..., type[Validator]] = validators.extend

RequestValidator: Final = _extend(
    Draft4Validator,
    {
        "minimum": _numeric_strings(Draft4Validator.VALIDATORS["minimum"]),
        "maximum": _numeric_strings(Draft4Validator.VALIDATORS["maximum"]),
        "pattern": _pattern,
        "propertyNames": Draft6Validator.VALIDATORS["propertyNames"],
    },
)


def validate(schema: Mapping[str, Any], data: Any, *, where: str = "body") -> None:
    """Validate ``data`` against ``schema``; ``where`` is ``"body"`` or ``"query"``.

    Raises :class:`SchemaValidationError` describing the most relevant error.
    """
    checker = RequestValidator(schema, format_checker=FORMAT_CHECKER)
    error = best_match(checker.iter_errors(data))
    if error is None:
        return
    path = "/".join(str(part) for part in error.absolute_path)
    message = _shorten(_message(error), _MESSAGE_LIMIT)
    if path:
        label = {"body": "field", "query": "query parameter"}.get(where, where)
        detail = f"Invalid input for {label} '{path}': {message}."
    else:
        detail = f"{message}."
    field = _field_name(error, path)
    if field:
        raise SchemaValidationError(detail, field=field)
    raise SchemaValidationError(detail)


def _message(error: ValidationError) -> str:
    """The schema message with the echoed value cut to a readable length."""
    value = repr(error.instance)
    message = _explain_keys(error) or error.message
    if message.startswith(value) and len(value) > _VALUE_LIMIT:
        return _shorten(value, _VALUE_LIMIT) + message[len(value) :]
    return message


def _explain_keys(error: ValidationError) -> str | None:
    """Say which keys are wanted when a combinator only lists ``required`` sets.

    jsonschema would print the sub-schemas instead ("... is valid under each
    of {'required': ['port']}, ...").
    """
    value = error.validator_value
    if error.validator == "not" and _only_required(value):
        return f"{_keys(value['required'], 'and')} cannot be given together"
    if error.validator not in ("anyOf", "oneOf") or not isinstance(value, list):
        return None
    if not value or not all(_only_required(branch) for branch in value):
        return None
    wanted = [_keys(branch["required"], "and") for branch in value]
    if len(value) > 1:
        wanted = [f"({words})" if " and " in words else words for words in wanted]
    exactly = "exactly one of " if error.validator == "oneOf" else ""
    return f"{error.instance!r} must contain {exactly}{' or '.join(wanted)}"


def _only_required(schema: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(schema, Mapping) and set(schema) == {"required"}


def _keys(names: Any, conjunction: str) -> str:
    return f" {conjunction} ".join(repr(name) for name in names)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_name(error: ValidationError, path: str) -> str:
    """The path of the offending field, including a missing or unexpected key."""
    key: str | None = None
    instance, wanted = error.instance, error.validator_value
    if error.validator == "required" and isinstance(instance, Mapping) and isinstance(wanted, list):
        key = next((str(k) for k in wanted if k not in instance), None)
    elif error.validator == "additionalProperties" and isinstance(instance, Mapping):
        key = next((str(k) for k in instance if _unexpected(error, k)), None)
    if key is None:
        return path
    return f"{path}/{key}" if path else key


def _unexpected(error: ValidationError, key: Any) -> bool:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    patterns = schema.get("patternProperties", {})
    if key in schema.get("properties", {}):
        return False
    return not any(re.search(pattern, str(key)) for pattern in patterns)


def parse_bool(value: Any) -> bool:
    """Turn a value accepted by :data:`BOOL` or :data:`BOOL_EXT` into a bool.

    Raises :class:`InvalidInput` for anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in BOOL_EXT_TRUE:
        return True
    if isinstance(value, str) and value in BOOL_EXT_FALSE:
        return False
    raise InvalidInput(f"Invalid boolean value {_shorten(repr(value), _VALUE_LIMIT)}.")


def parse_all_projects(value: str | None) -> bool:
    """Parse ``all_projects`` leniently (list and show endpoints).

    Raises :class:`InvalidInput` naming ``all_projects`` for an unknown spelling.
    """
    if value is None:
        return False
    text = value.strip().lower()
    if not text or text in _LENIENT_FALSE:
        return False
    if text in _LENIENT_TRUE:
        return True
    raise InvalidInput(
        f"Invalid value {_shorten(repr(value), _VALUE_LIMIT)} for all_projects: "
        "expected a boolean.",
        field="all_projects",
    )
