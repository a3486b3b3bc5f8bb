"""The ``Idempotency-Key`` request header of creates, and what identifies a request."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

from dockyard.api.versions import Version, fmt
from dockyard.domain.errors import InvalidInput

HEADER: Final = "Idempotency-Key"
#: Set on a create's answer when its key was sent: whether it is a repeat's.
REPLAYED: Final = "Idempotent-Replayed"
MAX_LENGTH: Final = 255
_VISIBLE_ASCII: Final = re.compile(r"[\x21-\x7e]+")


def key(value: str | None) -> str | None:
    """The header's key, or None; 400 for one that is empty, too long or not visible ASCII."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_LENGTH or not _VISIBLE_ASCII.fullmatch(value):
        raise InvalidInput(
            f"{HEADER} must be 1 to {MAX_LENGTH} visible ASCII characters "
            "(a UUID is a good choice).",
            field=HEADER,
        )
    return value


def fingerprint(body: Any, run: bool, version: Version) -> str:
    """A digest of what a create asks for: the same for a repeat of the request,
    whatever the order of its keys."""
    canonical = json.dumps(
        {"body": body, "run": run, "version": fmt(version)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
