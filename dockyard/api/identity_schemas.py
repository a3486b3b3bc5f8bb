"""The shapes of the ``/v3`` (Keystone subset) requests and answers, as JSON Schemas.

``identity_v3.parse_password_auth`` checks a token request against ``AUTH`` first
(a mistyped or missing part → 400), then what a schema cannot say (the method is
``password``, the scope names a project, the domain is Default → 401). The OpenAPI
document publishes the same schemas.
"""

from __future__ import annotations

from typing import Any, Final

import jsonschema

from dockyard.domain.errors import InvalidInput

_STRING: Final = {"type": "string"}
_NULLABLE: Final = {"type": ["string", "null"]}
_DOMAIN: Final = {"type": "object", "properties": {"id": _STRING, "name": _STRING}}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


_NAMED: Final = {"id": _STRING, "name": _STRING, "domain": _DOMAIN}
AUTH: Final = _object(
    {
        "auth": _object(
            {
                "identity": _object(
                    {
                        "methods": {"type": "array", "items": _STRING, "minItems": 1},
                        "password": _object(
                            {"user": _object({**_NAMED, "password": _STRING}, ("password",))},
                            ("user",),
                        ),
                    },
                    ("methods",),
                ),
                "scope": _object({"project": _object(_NAMED)}),
            },
            ("identity",),
        )
    },
    ("auth",),
)


def check_auth(body: Any) -> None:
    """``body`` against ``AUTH``; the first error → 400 naming the field."""
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(AUTH).iter_errors(body)
    )
    if error is None:
        return
    where = ".".join(str(p) for p in error.path) or "body"
    if error.validator == "required":
        where = ".".join([*(str(p) for p in error.path), str(error.message).split("'")[1]])
    raise InvalidInput(f"Invalid input for field '{where}': {error.message[:200]}")


# answers

_LINKS: Final = {"type": "array", "items": _object({"rel": _STRING, "href": _STRING})}
_REF: Final = _object({"id": _STRING, "name": _STRING, "domain": _DOMAIN}, ("id", "name"))
_ENDPOINT: Final = _object(
    {
        "id": _STRING,
        "interface": {"enum": ["public", "internal", "admin"]},
        "region": _STRING,
        "region_id": _STRING,
        "url": _STRING,
        "service_id": _STRING,
        "enabled": {"type": "boolean"},
        "links": _object({"self": _STRING}),
    },
    ("id", "interface", "url"),
)
_SERVICE: Final = _object(
    {
        "id": _STRING,
        "type": _STRING,
        "name": _STRING,
        "description": _STRING,
        "enabled": {"type": "boolean"},
        "links": _object({"self": _STRING}),
    },
    ("id", "type", "name"),
)
_LIST_LINKS: Final = _object({"self": _STRING, "next": _NULLABLE, "previous": _NULLABLE})

#: Every answer's schema, by the name the OpenAPI document gives it.
ANSWERS: Final[dict[str, dict[str, Any]]] = {
    "IdentityVersion": _object(
        {
            "version": _object(
                {
                    "id": _STRING,
                    "status": _STRING,
                    "updated": _STRING,
                    "links": _LINKS,
                    "media-types": {"type": "array"},
                },
                ("id", "status", "links"),
            )
        },
        ("version",),
    ),
    "Token": _object(
        {
            "token": _object(
                {
                    "methods": {"type": "array", "items": _STRING},
                    "user": _object(
                        {**_REF["properties"], "password_expires_at": _NULLABLE}, ("id", "name")
                    ),
                    "audit_ids": {"type": "array", "items": _STRING},
                    "expires_at": _STRING,
                    "issued_at": _STRING,
                    "project": _REF,
                    "is_domain": {"type": "boolean"},
                    "roles": {"type": "array", "items": _object({"id": _STRING, "name": _STRING})},
                    "catalog": {
                        "type": "array",
                        "items": _object(
                            {
                                "id": _STRING,
                                "type": _STRING,
                                "name": _STRING,
                                "endpoints": {"type": "array", "items": _ENDPOINT},
                            },
                            ("type", "endpoints"),
                        ),
                    },
                },
                ("methods", "user", "expires_at", "project", "roles"),
            )
        },
        ("token",),
    ),
    "IdentityServiceList": _object(
        {"services": {"type": "array", "items": _SERVICE}, "links": _LIST_LINKS}, ("services",)
    ),
    "IdentityServiceOne": _object({"service": _SERVICE}, ("service",)),
    "IdentityEndpointList": _object(
        {"endpoints": {"type": "array", "items": _ENDPOINT}, "links": _LIST_LINKS},
        ("endpoints",),
    ),
    "IdentityEndpointOne": _object({"endpoint": _ENDPOINT}, ("endpoint",)),
    #: Keystone's error body (also the token middleware's 401 on every other path).
    "KeystoneError": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "integer"},
                    "title": _STRING,
                    "message": _STRING,
                },
                "required": ["code", "title", "message"],
                "additionalProperties": False,
            }
        },
        "required": ["error"],
        "additionalProperties": False,
    },
}
