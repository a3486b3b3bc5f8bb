"""Route declarations: each routes module fills a RouteTable with its handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from dockyard.api.versions import MAX_VERSION, MIN_VERSION, Version

Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    min_version: Version = MIN_VERSION
    max_version: Version = MAX_VERSION
    public: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


class RouteTable:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        path: str,
        min_version: Version = MIN_VERSION,
        max_version: Version = MAX_VERSION,
        public: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Callable[..., Any]) -> Handler:
            self.routes.append(Route(method, path, handler, min_version, max_version, public))
            return handler

        return register
