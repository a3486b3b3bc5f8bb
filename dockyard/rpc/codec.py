"""JSON-safe forms of what crosses RPC, driven by the type hints of the RPC Protocols.

Messages, results and errors travel as plain dicts, lists, strings and numbers:
dataclasses become dicts of their fields, enums their values, datetimes ISO 8601
strings, bytes base64 text, tuples lists. Decoding is guided by the declared
type, so a peer never sends class names or objects, only data. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import functools
import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.domain.errors import DockyardError


class WireFormatError(ValueError):
    """A value does not have the shape its declared type requires."""


@dataclass(frozen=True)
class Signature:
    """One RPC method: its parameters (name -> type, in order) and its result type."""

    name: str
    params: Mapping[str, Any]
    result: Any


def signatures(protocol: type) -> dict[str, Signature]:
    """The public methods of ``protocol`` with their resolved type hints."""
    found = {}
    for name, fn in vars(protocol).items():
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        hints = typing.get_type_hints(fn)
        params = [p for p in inspect.signature(fn).parameters if p != "self"]
        found[name] = Signature(name, {p: hints[p] for p in params}, hints["return"])
    return found


# -- values -------------------------------------------------------------------


#: Types that are their own wire form (exactly these: an enum deriving from str is not).
_PLAIN = frozenset({str, int, float, bool, type(None)})


#: class -> the names of its fields when it is a dataclass, else None.
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The field names of the dataclass ``kind``; None for any other class.

    A message holds thousands of values (a host's firewall): looking the fields up
    once per class rather than once per value halves the cost of encoding it.
    """
    try:
        return _FIELD_NAMES[kind]
    except KeyError:
        names = (
            tuple(f.name for f in dataclasses.fields(kind))
            if dataclasses.is_dataclass(kind)
            else None
        )
        _FIELD_NAMES[kind] = names
        return names


def encode(value: Any) -> Any:
    """``value`` as JSON-safe data."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _field_names(kind)
    if names is not None:
        return {name: encode(getattr(value, name)) for name in names}
    if kind is tuple or kind is list:
        return [encode(v) for v in value]
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    raise WireFormatError(f"{type(value).__name__} cannot cross RPC")


def decode(kind: Any, data: Any) -> Any:
    """Rebuild a value of type ``kind`` from what ``encode`` produced."""
    if kind is Any or kind is object:
        return data
    if kind is None or kind is type(None):
        return _expect(data is None, kind, data, None)
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        return _decode_union(typing.get_args(kind), data)
    if origin is not None:
        return _decode_generic(origin, typing.get_args(kind), data)
    if isinstance(kind, type):
        return _decode_class(kind, data)
    raise WireFormatError(f"no wire form for {kind!r}")


def _expect(ok: bool, kind: Any, data: Any, value: Any) -> Any:
    if not ok:
        raise WireFormatError(f"expected {getattr(kind, '__name__', kind)}, got {data!r:.80}")
    return value


def _decode_union(members: tuple[Any, ...], data: Any) -> Any:
    if data is None and type(None) in members:
        return None
    for member in members:
        if member is type(None):
            continue
        try:
            return decode(member, data)
        except (WireFormatError, ValueError, TypeError):
            continue
    raise WireFormatError(f"{data!r:.80} matches none of {members}")


def _decode_generic(origin: Any, args: tuple[Any, ...], data: Any) -> Any:
    if origin in (dict, Mapping):
        _expect(isinstance(data, dict), dict, data, None)
        value_kind = args[1] if args else Any
        return {str(k): decode(value_kind, v) for k, v in data.items()}
    if origin in (list, tuple, Sequence, set, frozenset):
        _expect(isinstance(data, list), list, data, None)
        if origin is tuple and args and args[-1] is not Ellipsis:
            _expect(len(args) == len(data), tuple, data, None)
            return tuple(decode(k, v) for k, v in zip(args, data, strict=True))
        items = [decode(args[0] if args else Any, v) for v in data]
        return items if origin in (list, Sequence) else origin(items)
    raise WireFormatError(f"no wire form for {origin!r}")


def _decode_class(kind: type, data: Any) -> Any:
    if kind is bool:
        return _expect(isinstance(data, bool), kind, data, data)
    if kind is int:
        return _expect(isinstance(data, int) and not isinstance(data, bool), kind, data, data)
    if kind is float:
        ok = isinstance(data, int | float) and not isinstance(data, bool)
        return float(_expect(ok, kind, data, data))
    if kind is str:
        return _expect(isinstance(data, str), kind, data, data)
    if issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError as exc:
            raise WireFormatError(f"expected {kind.__name__}, got {data!r:.80}") from exc
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(_expect(isinstance(data, str), kind, data, data))
    if kind is bytes:
        try:
            return base64.b64decode(_expect(isinstance(data, str), kind, data, data), validate=True)
        except binascii.Error as exc:
            raise WireFormatError(f"bad base64: {exc}") from exc
    if dataclasses.is_dataclass(kind):
        return _decode_dataclass(kind, data)
    raise WireFormatError(f"no wire form for {kind.__name__}")


@functools.cache
def _field_types(kind: type) -> tuple[tuple[tuple[str, Any], ...], str | None]:
    """The (name, resolved type) of each field of ``kind`` and its ``version`` default.

    Resolving type hints is by far the dearest step of decoding; classes never change.
    """
    hints = typing.get_type_hints(kind)
    fields = dataclasses.fields(kind)
    version = next((str(f.default) for f in fields if f.name == "version"), None)
    return tuple((f.name, hints[f.name]) for f in fields), version


def _decode_dataclass(kind: type, data: Any) -> Any:
    _expect(isinstance(data, dict), kind, data, None)
    fields, ours = _field_types(kind)
    if ours is not None and "version" in data:
        theirs = str(data["version"])
        if ours.split(".")[0] != theirs.split(".")[0]:
            raise WireFormatError(f"{kind.__name__} version {theirs} is not compatible with {ours}")
    # Unknown keys are ignored: a newer peer may add optional fields.
    values = {name: decode(hint, data[name]) for name, hint in fields if name in data}
    try:
        return kind(**values)
    except TypeError as exc:
        raise WireFormatError(f"{kind.__name__}: {exc}") from exc


# -- calls and replies ----------------------------------------------------------


def encode_args(sig: Signature, args: Mapping[str, Any]) -> dict[str, Any]:
    return {name: encode(args[name]) for name in sig.params}


def decode_args(sig: Signature, wire: Mapping[str, Any]) -> list[Any]:
    """The positional arguments of ``sig`` from their wire form."""
    missing = [name for name in sig.params if name not in wire]
    if missing:
        raise WireFormatError(f"{sig.name}: missing {', '.join(missing)}")
    return [decode(kind, wire[name]) for name, kind in sig.params.items()]


def reply(value: Any) -> dict[str, Any]:
    return {"result": encode(value)}


def reply_error(error: DockyardError) -> dict[str, Any]:
    wire = error.to_wire()
    return {"error": {**wire, "fields": encode(wire.get("fields") or {})}}


def unwrap(sig: Signature, data: Any) -> Any:
    """The result in a reply, or the remote ``DockyardError`` raised here as the same class."""
    if not isinstance(data, dict) or not ("result" in data or "error" in data):
        raise WireFormatError(f"{sig.name}: malformed reply {data!r:.80}")
    if "error" in data:
        raise DockyardError.from_wire(dict(data["error"]))
    return decode(sig.result, data["result"])
