"""The block-storage microversion a request asks for (``OpenStack-API-Version: volume 3.x``)."""

from __future__ import annotations

import re
from typing import Final

from dockyard.domain.errors import InvalidInput, NotAcceptable

MIN_VERSION: Final = (3, 0)
#: Every volume field up to this version is shown; features of the range that this
#: subset lacks (filters, actions) are refused with a 400 where they are asked for.
MAX_VERSION: Final = (3, 60)
HEADER: Final = "OpenStack-API-Version"
SERVICE: Final = "volume"
_VERSION: Final = re.compile(r"^([1-9][0-9]*)\.([0-9]|[1-9][0-9]*)$")


def text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def requested(header: str | None) -> tuple[int, int]:
    """The version named for ``volume`` in the header; 3.0 when it names none.

    A malformed value → 400; a version outside what is served → 406, as Cinder does.
    """
    if not header:
        return MIN_VERSION
    wanted = None
    for entry in header.split(","):
        service, _, value = entry.strip().partition(" ")
        if service.lower() == SERVICE:
            wanted = value.strip()
    if wanted is None:
        return MIN_VERSION
    if wanted.lower() == "latest":
        return MAX_VERSION
    match = _VERSION.match(wanted)
    if match is None:
        raise InvalidInput(
            f"API Version String {wanted} is of invalid format. Must be of format "
            "MajorNum.MinorNum."
        )
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise NotAcceptable(
            f"Version {wanted} is not supported by the API. Minimum is "
            f"{text(MIN_VERSION)} and maximum is {text(MAX_VERSION)}."
        )
    return version
