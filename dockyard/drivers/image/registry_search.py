"""Searching a registry that is not Docker Hub, through its ``/v2/_catalog``.

The distribution API has no search; the catalog (when a registry serves it to
the caller) lists every repository, which is filtered here by name.
"""

from __future__ import annotations

from typing import Any

import requests

from dockyard.domain.errors import (
    DriverError,
    InvalidInput,
    RegistryAuthFailed,
    RegistryUnreachable,
)
from dockyard.domain.images import ImageRef
from dockyard.domain.registries import RegistryAuth

#: Repositories read from a catalog, and repositories whose tags are then listed.
CATALOG_LIMIT = 1000
TAGS_FOR = 25
TIMEOUT = 10


def _base(domain: str) -> str:
    """Registries on the loopback speak plain HTTP, as the engine assumes."""
    host = domain.rsplit(":", 1)[0] if not domain.endswith("]") else domain
    loopback = host in ("localhost", "[::1]") or host.startswith("127.")
    return f"{'http' if loopback else 'https'}://{domain}"


def search_registry(ref: ImageRef, exact: bool, auth: RegistryAuth | None) -> list[dict[str, Any]]:
    assert ref.domain is not None
    base = _base(ref.domain)
    login = (auth.username, auth.password or "") if auth and auth.username else None
    with requests.Session() as session:
        session.auth = login
        names = _catalog(session, base, ref.domain, auth)
        wanted = ref.path
        matches = [n for n in names if (n == wanted if exact else wanted in n)]
        items = []
        for index, name in enumerate(matches):
            tags = _tags(session, base, name) if index < TAGS_FOR else []
            if ref.tag is not None and ref.tag not in tags:
                continue
            items.append({
                "name": f"{ref.domain}/{name}",
                "tags": tags,
                "description": "",
                "is_automated": False,
                "metadata": {"is_official": False, "star_count": 0},
            })  # fmt: skip
    return items


def _catalog(
    session: requests.Session, base: str, domain: str, auth: RegistryAuth | None
) -> list[str]:
    try:
        answer = session.get(f"{base}/v2/_catalog", params={"n": CATALOG_LIMIT}, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise RegistryUnreachable(f"registry {domain} could not be reached ({exc})") from None
    if answer.status_code == 401:
        advice = (
            "it needs credentials: store them as a registry (openstack appcontainer registry "
            "create) for this domain"
            if auth is None
            else f"check the username and password stored for registry {domain}"
        )
        raise RegistryAuthFailed(f"registry {domain} refused the search; {advice}")
    if answer.status_code in (403, 404, 405):
        raise InvalidInput(
            f"registry {domain} offers no search (its /v2/_catalog answered "
            f"{answer.status_code}); give the image's full reference instead",
            field="image",
        )
    if answer.status_code != 200:
        raise DriverError(f"registry {domain} answered {answer.status_code} to a catalog read")
    try:
        names = answer.json().get("repositories") or []
    except ValueError:
        raise InvalidInput(
            f"registry {domain} offers no search (no catalog)", field="image"
        ) from None
    return [str(n) for n in names]


def _tags(session: requests.Session, base: str, name: str) -> list[str]:
    try:
        answer = session.get(f"{base}/v2/{name}/tags/list", timeout=TIMEOUT)
        return sorted(str(t) for t in (answer.json().get("tags") or []))
    except (requests.RequestException, ValueError, AttributeError):
        return []
