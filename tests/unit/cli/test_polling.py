"""Verbs that poll the API, against a scripted stand-in for the HTTP client.

The real paths are covered end to end (tests/e2e/test_dockyard_cli.py); these
pin what a live server cannot stage on demand: log lines arriving between polls
within one second, and the images API answering once it exists.
"""

from __future__ import annotations

import argparse
import io
from collections import deque
from typing import Any

import pytest

from dockyard.cli import containers, images, logs
from dockyard.cli.context import Context
from dockyard.cli.errors import APIError, CLIError

UUID = "5e1f0c2a-8d7b-4c55-9a61-0d3f2b7c9e10"


class ScriptedClient:
    """Answers each (method, path) from a queue of canned answers, recording the calls."""

    def __init__(self, answers: dict[tuple[str, str], list[Any]]) -> None:
        self.answers = {key: deque(values) for key, values in answers.items()}
        self.calls: list[tuple[str, str, dict[str, Any] | None, Any]] = []

    def request(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        self.calls.append((method, path, params, body))
        queue = self.answers[(method, path)]
        answer = queue[0] if len(queue) == 1 else queue.popleft()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request("POST", path, params=params or None, body=body)


def context(client: ScriptedClient) -> Context:
    ctx = Context({}, io.StringIO(), io.StringIO())
    ctx._client = client  # type: ignore[assignment]
    return ctx


def test_follow_prints_each_line_once_across_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "FOLLOW_INTERVAL", 0)
    path = f"/containers/{UUID}"
    first = "2026-12-03T10:00:00.100000000Z one\n"
    second = first + "2026-12-03T10:00:00.2Z two\n"
    third = second + "2026-12-03T10:00:01.05Z three\n"
    client = ScriptedClient({
        ("GET", path): [{"uuid": UUID, "status": "Running"}, {"uuid": UUID, "status": "Running"},
                        {"uuid": UUID, "status": "Stopped"}],
        ("GET", path + "/logs"): [first, second, third],
    })  # fmt: skip
    ctx = context(client)
    final = logs.follow(client, {"uuid": UUID}, ctx)  # type: ignore[arg-type]
    assert final["status"] == "Stopped"
    assert ctx.out.getvalue() == "one\ntwo\nthree\n"  # type: ignore[attr-defined]
    log_params = [params for _, p, params, _ in client.calls if p.endswith("/logs")]
    assert log_params[0] == {"timestamps": True, "tail": "all"}
    assert log_params[1] == {"timestamps": True, "since": 1796292000}


def test_images_are_listed_like_docker_images() -> None:
    listing = {"images": [
        {"uuid": "u1", "repo": "busybox", "tag": "latest", "image_id": "sha256:" + "ab" * 32,
         "size": "4400000", "host": "node-1"},
        {"uuid": "u2", "repo": "nginx", "tag": "1.25", "image_id": None, "size": None,
         "host": "node-1"},
    ]}  # fmt: skip
    ctx = context(ScriptedClient({("GET", "/images"): [listing]}))
    args = argparse.Namespace(format=None, repository=None, quiet=False)
    assert images.images_command(ctx, args) == 0
    assert ctx.out.getvalue().splitlines() == [  # type: ignore[attr-defined]
        "REPOSITORY   TAG      IMAGE ID       SIZE    HOST",
        "busybox      latest   abababababab   4.4MB   node-1",
        "nginx        1.25     <pulling>              node-1",
    ]


def test_pull_waits_for_the_image_id_on_the_only_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images.time, "sleep", lambda _: None)
    record = {"uuid": "u1", "repo": "busybox", "tag": "latest", "image_id": None}
    client = ScriptedClient({
        ("GET", "/hosts"): [{"hosts": [{"hostname": "node-1"}]}],
        ("POST", "/images"): [record],
        ("GET", "/images/u1"): [record, {**record, "image_id": "sha256:abc"}],
    })  # fmt: skip
    ctx = context(client)
    args = argparse.Namespace(host=None, quiet=False, image="busybox")
    assert images.pull_command(ctx, args) == 0
    assert ("POST", "/images", None, {"repo": "busybox", "host": "node-1"}) in client.calls
    assert "busybox:latest: pulled on node-1" in ctx.out.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [404, 501])
def test_a_server_without_the_images_api_says_so(status: int) -> None:
    client = ScriptedClient({("GET", "/images"): [APIError(status, "Not Found")]})
    args = argparse.Namespace(format=None, repository=None, quiet=False)
    with pytest.raises(CLIError, match="does not offer the images API"):
        images.images_command(context(client), args)


def test_a_missing_image_is_not_mistaken_for_a_missing_api() -> None:
    client = ScriptedClient({("GET", "/images/u9"): [APIError(404, "Image u9 not found")]})
    with pytest.raises(APIError):
        images._images(client, "/images/u9")  # type: ignore[arg-type]


def test_pull_needs_a_host_when_there_are_several() -> None:
    hosts = {"hosts": [{"hostname": "a"}, {"hostname": "b"}]}
    client = ScriptedClient({("GET", "/hosts"): [hosts]})
    args = argparse.Namespace(host=None, quiet=False, image="busybox")
    with pytest.raises(CLIError, match="2 compute hosts \\(a, b\\): choose one with --host"):
        images.pull_command(context(client), args)


class WatchingClient:
    """Answers ``watch`` from a script of (body or None, ETag) and counts the calls."""

    def __init__(self, script: list[tuple[Any, str | None]]) -> None:
        self.script = deque(script)
        self.seen: list[tuple[str | None, int]] = []

    def watch(self, path: str, etag: str | None, wait: int) -> tuple[Any, str | None]:
        self.seen.append((etag, wait))
        return self.script.popleft()


def test_a_wait_asks_once_per_change_with_the_last_etag(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(containers.time, "sleep", slept.append)
    creating = {"uuid": UUID, "status": "Creating", "task_state": "container_creating"}
    running = {"uuid": UUID, "status": "Running", "task_state": None}
    client = WatchingClient([(creating, '"a"'), (None, '"a"'), (running, '"b"')])

    final = containers.wait(client, creating, lambda c: c["status"] == "Running")  # type: ignore[arg-type]

    assert final == running
    assert [etag for etag, _ in client.seen] == [None, '"a"', '"a"']
    assert all(0 < wait <= containers.WAIT for _, wait in client.seen)
    assert slept == []  # the service held each answer: nothing to sleep for


def test_a_service_without_etags_is_polled(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(containers.time, "sleep", slept.append)
    creating = {"uuid": UUID, "status": "Creating", "task_state": "container_creating"}
    running = {"uuid": UUID, "status": "Running", "task_state": None}
    client = WatchingClient([(creating, None), (running, None)])

    containers.wait(client, creating, lambda c: c["status"] == "Running")  # type: ignore[arg-type]

    assert slept == [containers.POLL]
