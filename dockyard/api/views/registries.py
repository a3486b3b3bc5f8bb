"""Registry bodies (api-other §15.1): the password is never rendered."""

from __future__ import annotations

from typing import Any

from dockyard.domain.registries import MASK, Registry


def _links(base_url: str, uuid: str) -> list[dict[str, str]]:
    return [
        {"href": f"{base_url}/v1/registries/{uuid}", "rel": "self"},
        {"href": f"{base_url}/registries/{uuid}", "rel": "bookmark"},
    ]


def registry(r: Registry, hidden: frozenset[str], base_url: str | None) -> dict[str, Any]:
    """``base_url`` None for a list item (no links); ``hidden``: fields a policy hides."""
    body: dict[str, Any] = {
        "uuid": r.uuid,
        "name": r.name,
        "domain": r.domain,
        "username": r.username,
        "password": MASK,
        "project_id": r.project_id,
        "user_id": r.user_id,
    }
    if base_url is not None:
        body["links"] = _links(base_url, r.uuid)
    return {k: v for k, v in body.items() if k not in hidden}
