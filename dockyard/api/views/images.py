"""Image bodies (api-other §8.1), with Dockyard's pull state beside Zun's fields."""

from __future__ import annotations

import dataclasses
from typing import Any

from dockyard.domain.image_records import ImageRecord


def _links(base_url: str, uuid: str) -> list[dict[str, str]]:
    return [
        {"href": f"{base_url}/v1/images/{uuid}", "rel": "self"},
        {"href": f"{base_url}/images/{uuid}", "rel": "bookmark"},
    ]


def image(record: ImageRecord, base_url: str) -> dict[str, Any]:
    return {
        "uuid": record.uuid,
        "links": _links(base_url, record.uuid),
        "image_id": record.image_id,
        "repo": record.repo,
        "tag": record.tag,
        "size": None if record.size is None else str(record.size),
        "project_id": record.project_id,
        "host": record.host,
        # Not in Zun: where the pull stands (clients ignore unknown keys).
        "status": str(record.status),
        "status_reason": record.status_reason,
        "progress": None if record.progress is None else dataclasses.asdict(record.progress),
    }
