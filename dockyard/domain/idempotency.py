"""An ``Idempotency-Key`` a project sent with a create, and what came of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class IdempotencyKey:
    project_id: str
    key: str
    #: A digest of the request the key was first sent with.
    fingerprint: str
    #: The container that request made; None while it is still being made.
    container_uuid: str | None
    created_at: dt.datetime
