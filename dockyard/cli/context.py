"""What every command handler gets: the parsed flags' surroundings and a lazy API client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from dockyard.cli.http import Client


@dataclass
class Context:
    env: Mapping[str, str]
    out: TextIO
    err: TextIO
    cloud: str | None = None
    _client: Client | None = field(default=None, repr=False)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def client(self) -> Client:
        """The API client, logging in on first use."""
        if self._client is None:
            from dockyard.cli import auth
            from dockyard.cli.http import Client

            self._client = Client(auth.resolve(self.env, self.cloud, self.now()))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
