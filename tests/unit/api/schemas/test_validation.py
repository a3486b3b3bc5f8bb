from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.schemas.validation import (
    BOOL,
    BOOL_EXT,
    BOOL_EXT_FALSE,
    BOOL_EXT_TRUE,
    RequestValidator,
    parse_all_projects,
    parse_bool,
    validate,
)
from dockyard.domain.errors import InvalidInput, SchemaValidationError


def _errors(schema: dict[str, Any], data: Any) -> SchemaValidationError:
    with pytest.raises(SchemaValidationError) as info:
        validate(schema, data)
    return info.value


BOUNDED = {"type": ["integer", "number", "string"], "minimum": 4, "maximum": 10}


@pytest.mark.parametrize("value", [4, 10, 7.5, "4", "10", "7.5", "abc", "", "nan", "4\n"])
def test_numeric_bounds_accept(value: Any) -> None:
    validate(BOUNDED, value)


@pytest.mark.parametrize("value", [True, False, None, [1], {"a": 1}])
def test_numeric_bounds_ignore_non_numbers(value: Any) -> None:
    validate({"minimum": 4, "maximum": 10}, value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (3, "3 is less than the minimum of 4."),
        ("3", "3 is less than the minimum of 4."),
        ("3.9", "3.9 is less than the minimum of 4."),
        (11, "11 is greater than the maximum of 10."),
        ("11", "11 is greater than the maximum of 10."),
        ("-1", "-1 is less than the minimum of 4."),
        ("1e3", "1000.0 is greater than the maximum of 10."),
        ("inf", "inf is greater than the maximum of 10."),
    ],
)
def test_numeric_bounds_reject(value: Any, message: str) -> None:
    assert _errors(BOUNDED, value).detail == message


def test_exclusive_bounds_apply_to_strings() -> None:
    schema = {"minimum": 4, "exclusiveMinimum": True, "maximum": 5, "exclusiveMaximum": True}
    validate(schema, "4.5")
    for value in ("4", "5", 4, 5):
        with pytest.raises(SchemaValidationError):
            validate(schema, value)


def test_validator_is_draft4() -> None:
    RequestValidator.check_schema({"type": "object", "exclusiveMinimum": True, "minimum": 1})
    # Draft 4 integers exclude floats with an integral value.
    with pytest.raises(SchemaValidationError):
        validate({"type": "integer"}, 4.0)


@pytest.mark.parametrize(
    ("pattern", "value", "ok"),
    [
        ("^[0-9]+$", "12", True),
        ("^[0-9]+$", "12\n", False),
        ("^a$|^b$", "b\n", False),
        ("^a$|^b$", "b", True),
        ("[a-z][0-9]", "xx a1 yy", True),
        ("a\\$", "a$", True),
    ],
)
def test_pattern_end_anchor_is_end_of_input(pattern: str, value: str, ok: bool) -> None:
    schema = {"pattern": pattern}
    if ok:
        validate(schema, value)
    else:
        assert "does not match" in _errors(schema, value).detail


OBJECT = {
    "type": "object",
    "properties": {
        "memory": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 4},
        "policy": {
            "type": "object",
            "properties": {"Name": {"enum": ["no", "always"]}},
            "required": ["Name"],
            "additionalProperties": False,
        },
        "nets": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "v4": {"type": "string", "format": "ipv4"},
                    "v6": {"type": "string", "format": "ipv6"},
                },
            },
        },
        "image": {"type": "string"},
    },
    "required": ["image"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("data", "detail", "field"),
    [
        (
            {"image": "x", "memory": "2"},
            "Invalid input for field 'memory': 2 is less than the minimum of 4.",
            "memory",
        ),
        (
            {"image": "x", "memory": "4x"},
            "Invalid input for field 'memory': '4x' does not match '^[0-9]+$'.",
            "memory",
        ),
        (
            {"image": "x", "foo": 1},
            "Additional properties are not allowed ('foo' was unexpected).",
            "foo",
        ),
        ({}, "'image' is a required property.", "image"),
        (
            {"image": "x", "policy": {}},
            "Invalid input for field 'policy': 'Name' is a required property.",
            "policy/Name",
        ),
        (
            {"image": "x", "policy": {"Name": "no", "Other": 1}},
            "Invalid input for field 'policy': Additional properties are not allowed "
            "('Other' was unexpected).",
            "policy/Other",
        ),
        (
            {"image": "x", "policy": {"Name": "sometimes"}},
            "Invalid input for field 'policy/Name': 'sometimes' is not one of ['no', 'always'].",
            "policy/Name",
        ),
        (
            {"image": "x", "nets": [{}, {"v4": "10.0.0.256"}]},
            "Invalid input for field 'nets/1/v4': '10.0.0.256' is not a 'ipv4'.",
            "nets/1/v4",
        ),
        (
            {"image": "x", "nets": [{"v6": "10.0.0.1"}]},
            "Invalid input for field 'nets/0/v6': '10.0.0.1' is not a 'ipv6'.",
            "nets/0/v6",
        ),
        ([], "[] is not of type 'object'.", None),
    ],
)
def test_messages_name_the_field(data: Any, detail: str, field: str | None) -> None:
    error = _errors(OBJECT, data)
    assert error.detail == detail
    assert error.fields == ({"field": field} if field else {})
    assert error.status == 400
    assert error.code == "schema-validation-error"


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.254"])
def test_ipv4_format_accepts(address: str) -> None:
    validate(OBJECT, {"image": "x", "nets": [{"v4": address}]})


@pytest.mark.parametrize("address", ["::1", "fe80::1", "2001:db8::2"])
def test_ipv6_format_accepts(address: str) -> None:
    validate(OBJECT, {"image": "x", "nets": [{"v6": address}]})


@pytest.mark.parametrize("address", ["1.2.3", "010.0.0.1", "::1", "x", ""])
def test_ipv4_format_rejects(address: str) -> None:
    with pytest.raises(SchemaValidationError):
        validate(OBJECT, {"image": "x", "nets": [{"v4": address}]})


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("1", True),
        ("80", True),
        ("65535", True),
        ("53/udp", True),
        ("443/tcp", True),
        ("0080", True),
        ("0", False),
        ("65536", False),
        ("80/sctp", False),
        ("80/", False),
        ("/tcp", False),
        ("80\n", False),
        ("-1", False),
        ("http", False),
        ("", False),
    ],
)
def test_port_spec_property_names(key: str, ok: bool) -> None:
    schema = {"type": "object", "propertyNames": {"format": "port[/tcp|udp]"}}
    if ok:
        validate(schema, {key: {}})
    else:
        assert "is not a 'port[/tcp|udp]'" in _errors(schema, {key: {}}).detail


@pytest.mark.parametrize(
    ("schema", "data", "message"),
    [
        (
            {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
            {"a": 1, "b": 2},
            "{'a': 1, 'b': 2} must contain exactly one of 'a' or 'b'.",
        ),
        (
            {"anyOf": [{"required": ["a", "c"]}, {"required": ["b"]}]},
            {},
            "{} must contain ('a' and 'c') or 'b'.",
        ),
        (
            {"not": {"required": ["a", "b"]}},
            {"a": 1, "b": 2},
            "'a' and 'b' cannot be given together.",
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            [],
            "[] is not valid under any of the given schemas.",
        ),
    ],
)
def test_combinators_of_required_sets_are_explained(
    schema: dict[str, Any], data: Any, message: str
) -> None:
    assert _errors(schema, data).detail == message


def test_query_parameters_are_labelled() -> None:
    schema = {"type": "object", "properties": {"run": BOOL_EXT}}
    with pytest.raises(SchemaValidationError) as info:
        validate(schema, {"run": "maybe"}, where="query")
    assert info.value.detail.startswith("Invalid input for query parameter 'run': 'maybe' is not")


def test_long_values_are_truncated() -> None:
    with pytest.raises(SchemaValidationError) as info:
        validate(OBJECT, {"image": "x", "memory": "9" * 50 + "x" * 5000})
    detail = info.value.detail
    assert len(detail) < 400
    assert "'99999" in detail
    assert "..." in detail


def test_long_messages_are_truncated() -> None:
    schema = {"enum": [f"value-{n}" for n in range(500)]}
    assert len(_errors(schema, "other").detail) <= 301


def test_best_match_is_deterministic() -> None:
    data = {"image": 1, "memory": "1", "foo": 2, "policy": {"x": 1}}
    details = {_errors(OBJECT, data).detail for _ in range(20)}
    assert len(details) == 1


BOOL_TRUE_SPELLINGS = [True, "True", "true"]
BOOL_FALSE_SPELLINGS = [False, "False", "false"]
EXT_ONLY = [
    "TRUE",
    "1",
    "ON",
    "On",
    "on",
    "YES",
    "Yes",
    "yes",
    "FALSE",
    "0",
    "OFF",
    "Off",
    "off",
    "NO",
    "No",
    "no",
]
NEVER: list[Any] = [None, 1, 0, "", "tRue", "t", "y", "n", "2", "none", [], {}, [True], 1.0]


@pytest.mark.parametrize("value", BOOL_TRUE_SPELLINGS + BOOL_FALSE_SPELLINGS)
def test_bool_accepts(value: Any) -> None:
    validate(BOOL, value)
    validate(BOOL_EXT, value)


@pytest.mark.parametrize("value", EXT_ONLY)
def test_bool_ext_only(value: Any) -> None:
    validate(BOOL_EXT, value)
    with pytest.raises(SchemaValidationError):
        validate(BOOL, value)


@pytest.mark.parametrize("value", NEVER)
def test_bool_rejects(value: Any) -> None:
    for schema in (BOOL, BOOL_EXT):
        with pytest.raises(SchemaValidationError):
            validate(schema, value)


@pytest.mark.parametrize("value", BOOL_EXT_TRUE)
def test_parse_bool_true(value: Any) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", BOOL_EXT_FALSE)
def test_parse_bool_false(value: Any) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", NEVER)
def test_parse_bool_rejects(value: Any) -> None:
    with pytest.raises(InvalidInput):
        parse_bool(value)


def test_bool_sets_are_exactly_the_documented_ones() -> None:
    assert len(BOOL_EXT_TRUE) == len(BOOL_EXT_FALSE) == 11
    assert sorted(map(str, BOOL["enum"])) == sorted(
        ["True", "True", "true", "False", "False", "false"]
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("  ", False),
        ("1", True),
        ("t", True),
        ("T", True),
        ("true", True),
        ("True", True),
        ("ON", True),
        ("y", True),
        ("Yes", True),
        (" yes ", True),
        ("0", False),
        ("f", False),
        ("false", False),
        ("False", False),
        ("off", False),
        ("n", False),
        ("NO", False),
    ],
)
def test_parse_all_projects(value: str | None, expected: bool) -> None:
    assert parse_all_projects(value) is expected


@pytest.mark.parametrize("value", ["2", "maybe", "yess", "truee", "-1"])
def test_parse_all_projects_rejects(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_all_projects(value)
    assert type(info.value) is InvalidInput
    assert "all_projects" in info.value.detail
    assert info.value.fields == {"field": "all_projects"}
