"""Microversion negotiation on `OpenStack-API-Version: container X.Y`."""

from __future__ import annotations

import re

from dockyard.domain.errors import NotAcceptable

Version = tuple[int, int]

SERVICE = "container"
MIN_VERSION: Version = (1, 1)
MAX_VERSION: Version = (1, 40)
HEADER = "OpenStack-API-Version"
_NUMBER = re.compile(r"^(\d+)\.(\d+)$")


def fmt(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


class UnsupportedVersion(NotAcceptable):
    """A well-formed version outside the supported range; carries what was asked."""

    title = "Requested microversion is unsupported"

    def __init__(self, requested: Version) -> None:
        super().__init__(
            f"Version {fmt(requested)} was requested but the minor version is not supported "
            f"by this version of Dockyard. Supported: [{SERVICE} {fmt(MIN_VERSION)}, "
            f"{SERVICE} {fmt(MAX_VERSION)}]."
        )
        self.requested = requested


def negotiate(header: str | None) -> Version:
    """The version a request asks for; raise NotAcceptable when it cannot be served."""
    if header is None:
        return MIN_VERSION
    tokens = header.split()
    if len(tokens) != 2:
        raise NotAcceptable(f"Invalid service type for {HEADER} header: {header!r}.")
    service, value = tokens
    if value.lower() == "latest":
        return MAX_VERSION
    if service != SERVICE:
        raise NotAcceptable(f"Invalid service type for {HEADER} header: {service!r}.")
    match = _NUMBER.match(value)
    if match is None:
        raise NotAcceptable(f"Invalid value for {HEADER} header: {value!r}.")
    version = (int(match.group(1)), int(match.group(2)))
    if version[0] != 1 or not MIN_VERSION <= version <= MAX_VERSION:
        raise UnsupportedVersion(version)
    return version


def headers(version: Version) -> list[tuple[str, str]]:
    return [
        ("OpenStack-API-Minimum-Version", f"{SERVICE} {fmt(MIN_VERSION)}"),
        ("OpenStack-API-Maximum-Version", f"{SERVICE} {fmt(MAX_VERSION)}"),
        (HEADER, f"{SERVICE} {fmt(version)}"),
        ("Vary", HEADER),
    ]
