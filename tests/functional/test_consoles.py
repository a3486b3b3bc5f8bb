"""Attach, interactive exec and TTY sizes through the console proxy, against the real engine.

The client side is `websocket-client` called exactly as python-zunclient calls it.
"""

from __future__ import annotations

import re
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import docker
import pytest
import websocket

from tests.conftest import Dockyard, start_dockyard, stop_dockyard

pytestmark = pytest.mark.docker

SHELL = ["sh"]
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]


def run(dockyard: Dockyard, command: list[str], **body: Any) -> str:
    response = dockyard.create({"command": command, **body})
    assert response.status_code == 202, response.text
    uuid = str(response.json()["uuid"])
    dockyard.wait_for(uuid, "Running")
    return uuid


def connect(url: str) -> websocket.WebSocket:
    parsed = urlparse(url)
    return websocket.create_connection(
        url,
        skip_utf8_validation=True,
        origin=f"http://{parsed.hostname}:{parsed.port}",
        subprotocols=["binary", "base64"],
        timeout=20,
    )


def read_until(ws: websocket.WebSocket, pattern: str, timeout: float = 20) -> str:
    """What the terminal printed, up to the first match of ``pattern``."""
    seen = ""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, seen):
        assert time.monotonic() < deadline, f"no {pattern!r} in {seen!r}"
        data = ws.recv()
        assert data, f"the session ended before {pattern!r}: {seen!r}"
        seen += data.decode() if isinstance(data, bytes) else data
    return seen


def type_line(ws: websocket.WebSocket, line: str) -> None:
    ws.send_binary(line.encode() + b"\n")


def error_code(response: Any) -> str:
    return str(response.json()["errors"][0]["code"])


def test_attach_gives_a_single_use_url_to_the_containers_terminal(dockyard: Dockyard) -> None:
    uuid = run(dockyard, SHELL, interactive=True, tty=True)

    answer = dockyard.request("GET", f"/v1/containers/{uuid}/attach")
    assert answer.status_code == 200, answer.text
    url = answer.json()
    assert isinstance(url, str) and url.startswith("ws://127.0.0.1:"), url
    query = parse_qs(urlparse(url).query)
    assert query["uuid"] == [uuid] and len(query["token"][0]) == 64

    ws = connect(url)
    assert ws.getsubprotocol() == "binary"
    type_line(ws, "echo mark-$((6*7))")
    read_until(ws, "mark-42")

    resized = dockyard.request("POST", f"/v1/containers/{uuid}/resize", params={"h": 31, "w": 97})
    assert resized.status_code == 200, resized.text
    assert resized.json() is None
    type_line(ws, "stty size")
    read_until(ws, r"31 97")
    ws.close()

    # Detaching leaves the container running; the token was spent.
    time.sleep(0.5)
    assert dockyard.show(uuid)["status"] == "Running"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(url)
    assert refused.value.status_code == 403
    # A fresh attach works again.
    again = connect(dockyard.request("GET", f"/v1/containers/{uuid}/attach").json())
    type_line(again, "echo again-$((2+3))")
    read_until(again, "again-5")
    again.close()


def test_a_token_opens_only_the_container_it_was_issued_for(dockyard: Dockyard) -> None:
    first = run(dockyard, SHELL, interactive=True, tty=True)
    second = run(dockyard, SHELL, interactive=True, tty=True)
    url = dockyard.request("GET", f"/v1/containers/{first}/attach").json()

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(url.replace(first, second))
    assert refused.value.status_code == 403


def test_an_interactive_exec_runs_through_the_proxy(dockyard: Dockyard) -> None:
    uuid = run(dockyard, SLEEPER)
    answer = dockyard.request(
        "POST",
        f"/v1/containers/{uuid}/execute",
        params={"command": '"sh"', "run": "false", "interactive": "true"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["output"] is None and body["exit_code"] is None
    exec_id = body["exec_id"]
    assert re.fullmatch(r"[0-9a-f]{64}", exec_id), body
    query = parse_qs(urlparse(body["proxy_url"]).query)
    assert query["uuid"] == [uuid] and query["exec_id"] == [exec_id]

    ws = connect(body["proxy_url"])
    type_line(ws, "echo in-exec-$((40+2))")
    read_until(ws, "in-exec-42")
    resized = dockyard.request(
        "POST",
        f"/v1/containers/{uuid}/execute_resize",
        params={"exec_id": exec_id, "h": 22, "w": 71},
    )
    assert resized.status_code == 200, resized.text
    type_line(ws, "stty size")
    read_until(ws, r"22 71")
    type_line(ws, "exit 3")
    # The shell ends, so does the session; the container keeps running.
    deadline = time.monotonic() + 20
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        while time.monotonic() < deadline:
            if not ws.recv():
                raise websocket.WebSocketConnectionClosedException("ended")
    assert dockyard.docker.api.exec_inspect(exec_id)["ExitCode"] == 3
    assert dockyard.show(uuid)["status"] == "Running"

    # The exec has run: its token is spent and it cannot be started twice.
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(body["proxy_url"])
    assert refused.value.status_code == 403


def test_terminal_requests_are_checked(dockyard: Dockyard) -> None:
    plain = run(dockyard, SLEEPER)
    refused = dockyard.request("GET", f"/v1/containers/{plain}/attach")
    assert refused.status_code == 400, refused.text
    assert error_code(refused) == "container.no-interactive-flag"

    unknown = dockyard.request(
        "POST",
        f"/v1/containers/{plain}/execute_resize",
        params={"exec_id": "0" * 64, "h": 10, "w": 10},
    )
    assert unknown.status_code == 400, unknown.text
    assert error_code(unknown) == "container.invalid"
    for params in ({"exec_id": "0" * 64, "h": 10}, {"exec_id": "zz", "h": 1, "w": 1}):
        bad = dockyard.request("POST", f"/v1/containers/{plain}/execute_resize", params=params)
        assert bad.status_code == 400, bad.text
    for params in ({"h": 10}, {"h": 0, "w": 10}, {"h": 10, "w": 10, "x": 1}):
        bad = dockyard.request("POST", f"/v1/containers/{plain}/resize", params=params)
        assert bad.status_code == 400, bad.text

    stopped = run(dockyard, SHELL, interactive=True, tty=True)
    assert dockyard.request("POST", f"/v1/containers/{stopped}/stop").status_code == 202
    dockyard.wait_for(stopped, "Stopped")
    for method, action in (("GET", "attach"), ("POST", "resize?h=5&w=5")):
        conflict = dockyard.request(method, f"/v1/containers/{stopped}/{action}")
        assert conflict.status_code == 409, conflict.text
    missing = dockyard.request("GET", f"/v1/containers/{uuidlib.uuid4()}/attach")
    assert missing.status_code == 404, missing.text


def test_the_proxy_refuses_what_the_api_did_not_issue(dockyard: Dockyard) -> None:
    uuid = run(dockyard, SHELL, interactive=True, tty=True)
    url = dockyard.request("GET", f"/v1/containers/{uuid}/attach").json()
    parsed = urlparse(url)
    base = f"{parsed.scheme}://{parsed.netloc}/"
    for query in (f"?token={'a' * 64}&uuid={uuid}", f"?uuid={uuid}", ""):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(base + query)
        assert refused.value.status_code in (400, 403), query
    # A browser page from elsewhere may not use a token it got hold of.
    with pytest.raises(websocket.WebSocketBadStatusException) as foreign:
        websocket.create_connection(url, origin="http://evil.example:80", timeout=10)
    assert foreign.value.status_code == 403
    # The refusals spent nothing: the genuine client still gets in.
    ws = connect(url)
    type_line(ws, "echo still-$((1+1))")
    read_until(ws, "still-2")
    ws.close()


def test_a_host_without_console_refuses_terminals_clearly(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    quiet = start_dockyard(
        tmp_path, docker_client, extra_config=["[websocket_proxy]", "enabled = false"]
    )
    try:
        uuid = run(quiet, SHELL, interactive=True, tty=True)
        refused = quiet.request("GET", f"/v1/containers/{uuid}/attach")
        assert refused.status_code == 409, refused.text
        assert "serves no console" in refused.json()["errors"][0]["detail"]
        session = quiet.request(
            "POST", f"/v1/containers/{uuid}/execute", params={"command": "sh", "run": "false"}
        )
        assert session.status_code == 409, session.text
        # Sizes still apply: they need no proxy.
        resized = quiet.request("POST", f"/v1/containers/{uuid}/resize", params={"h": 9, "w": 33})
        assert resized.status_code == 200, resized.text
    finally:
        stop_dockyard(quiet)
