"""Parsing of image references with the grammar the Docker Engine uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.domain.errors import InvalidImage

DEFAULT_DOMAIN = "docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_NAME_TAIL = (
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
_WITH_DOMAIN = re.compile(rf"^(?P<domain>{_DOMAIN})/{_NAME_TAIL}")
_WITHOUT_DOMAIN = re.compile(rf"^(?P<domain>){_NAME_TAIL}")


@dataclass(frozen=True)
class ImageRef:
    domain: str | None
    path: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def pinned(self) -> bool:
        """A digest or an explicit tag other than ``latest``."""
        return self.digest is not None or (self.tag is not None and self.tag != "latest")

    def __str__(self) -> str:
        text = self.repository
        if self.tag is not None or self.digest is None:
            text += f":{self.tag or 'latest'}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _looks_like_domain(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost" or part.lower() != part


def parse_image(reference: str) -> ImageRef:
    """Parse ``reference``; raise InvalidImage naming what is wrong."""
    if not reference or len(reference) > 255 or reference != reference.strip():
        raise InvalidImage(f"image: {reference!r} is not a valid image reference", field="image")
    first, _, rest = reference.partition("/")
    pattern = _WITH_DOMAIN if rest and _looks_like_domain(first) else _WITHOUT_DOMAIN
    match = pattern.match(reference)
    if match is None:
        raise InvalidImage(
            f"image: {reference!r} is not a valid image reference (expected "
            "[registry/]name[:tag][@digest] with a lower-case name)",
            field="image",
        )
    return ImageRef(
        domain=match.group("domain") or None,
        path=match.group("path"),
        tag=match.group("tag"),
        digest=match.group("digest"),
    )
