"""Reading the Docker Engine's pull stream into layers and bytes done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.domain.image_records import PullProgress

#: Statuses of a layer that is complete, whatever its bytes said before.
_COMPLETE = ("Pull complete", "Already exists")
#: Statuses of a layer whose download has ended (extraction may follow).
_DOWNLOADED = ("Download complete", "Verifying Checksum", "Extracting", *_COMPLETE)


@dataclass
class _Layer:
    total: int = 0
    done: int = 0
    complete: bool = False


@dataclass
class PullStream:
    """Folds the engine's pull messages (one per layer event) into a ``PullProgress``."""

    layers: dict[str, _Layer] = field(default_factory=dict)

    def feed(self, item: dict[str, Any]) -> bool:
        """Take one message; whether the progress changed."""
        layer_id, status = item.get("id"), str(item.get("status") or "")
        if not isinstance(layer_id, str) or not layer_id or _about_the_image(status):
            return False
        before = self.progress()
        layer = self.layers.setdefault(layer_id, _Layer())
        detail = item.get("progressDetail") or {}
        if status == "Downloading" and isinstance(detail, dict):
            layer.total = _int(detail.get("total")) or layer.total
            layer.done = _int(detail.get("current"))
        elif status.startswith(_DOWNLOADED):
            layer.done = layer.total
        if status.startswith(_COMPLETE):
            layer.complete = True
        return self.progress() != before

    def progress(self) -> PullProgress:
        layers = self.layers.values()
        return PullProgress(
            layers_done=sum(1 for layer in layers if layer.complete),
            layers_total=len(self.layers),
            bytes_done=sum(layer.done for layer in layers),
            bytes_total=sum(layer.total for layer in layers),
        )


def _about_the_image(status: str) -> bool:
    """Messages about the whole image ("Pulling from x" carries the tag as its id)."""
    return status.startswith(("Pulling from", "Digest:", "Status:"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
