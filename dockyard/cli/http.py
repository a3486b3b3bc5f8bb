"""A small client of the Zun v1 API: one request method, errors turned into APIError."""

from __future__ import annotations

import json
from typing import Any

import requests

from dockyard.cli.errors import APIError, CLIError
from dockyard.cli.login_file import Login

#: Every request asks for the newest microversion Dockyard (and Zun) speak.
API_VERSION = "container 1.40"
TIMEOUT = 120


class Client:
    """Requests to ``{endpoint}/...`` carrying the login's token."""

    def __init__(self, login: Login, timeout: float = TIMEOUT) -> None:
        self.login = login
        self.endpoint = login.endpoint.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["OpenStack-API-Version"] = API_VERSION
        self._session.headers["Accept"] = "application/json"
        self._session.headers["User-Agent"] = "dockyard-cli"
        if login.token is not None:
            self._session.headers["X-Auth-Token"] = login.token

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """The decoded JSON answer (None when empty); APIError for 4xx/5xx."""
        url = self.endpoint + path
        kwargs: dict[str, Any] = {"params": params, "timeout": self.timeout}
        if body is not None:
            kwargs["json"] = body
        try:
            response = self._session.request(method, url, **kwargs)
        except requests.ConnectionError as exc:
            raise CLIError(
                f"cannot connect to the Dockyard API at {self.endpoint}: is the service running?"
            ) from exc
        except requests.Timeout as exc:
            raise CLIError(f"the API at {self.endpoint} did not answer in time") from exc
        if response.status_code >= 400:
            raise APIError(response.status_code, error_detail(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def watch(self, path: str, etag: str | None, wait: int) -> tuple[Any, str | None]:
        """GET ``path``; given the ETag last seen, the service holds the answer until the
        resource changes (at most ``wait`` s). (body, ETag); body None when unchanged.

        A service that sends no ETag (Zun) answers at once: the caller then polls.
        """
        headers = {"If-None-Match": etag, "Prefer": f"wait={wait}"} if etag else {}
        try:
            response = self._session.get(
                self.endpoint + path, headers=headers, timeout=self.timeout + wait
            )
        except requests.ConnectionError as exc:
            raise CLIError(
                f"cannot connect to the Dockyard API at {self.endpoint}: is the service running?"
            ) from exc
        except requests.Timeout as exc:
            raise CLIError(f"the API at {self.endpoint} did not answer in time") from exc
        if response.status_code == 304:
            return None, etag
        if response.status_code >= 400:
            raise APIError(response.status_code, error_detail(response))
        return response.json(), response.headers.get("ETag")

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request("POST", path, params=params or None, body=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params or None)

    def close(self) -> None:
        self._session.close()


def error_detail(response: requests.Response) -> str:
    """What the API said went wrong: Zun's ``errors`` list or Keystone's ``error`` object."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("detail") or first.get("title") or response.reason)
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("title") or response.reason)
    if response.status_code == 401:
        return "authentication required: run `dockyard login` (or set OS_* variables)"
    text = response.text.strip()
    return text if text and len(text) < 300 else f"HTTP {response.status_code} {response.reason}"


def dumps(value: Any) -> str:
    return json.dumps(value, indent=4, sort_keys=True)
