"""The host's console proxy as the agent runs it: its URL, its start, its admission."""

from __future__ import annotations

import socket
from typing import Any, cast

import pytest

from dockyard.compute.console import ConsoleTicket
from dockyard.compute.console_host import HostConsole
from dockyard.config.websocket_proxy import WebsocketProxyConfig
from tests.fakes.control import RecordingControl


def config(**changes: Any) -> WebsocketProxyConfig:
    base: dict[str, Any] = {
        "enabled": True,
        "wsproxy_host": "127.0.0.1",
        "wsproxy_port": 0,
        "base_url": "",
        "allowed_origins": [],
        "token_ttl": 60,
    }
    return WebsocketProxyConfig(**{**base, **changes})


def test_the_url_is_known_once_the_proxy_listens() -> None:
    console = HostConsole(config(), cast(Any, None), RecordingControl())
    assert console.url is None
    console.start()
    try:
        assert console.url == f"ws://127.0.0.1:{console.proxy.port}/"
    finally:
        console.stop()
    assert console.url is None


def test_an_operator_given_base_url_wins() -> None:
    console = HostConsole(
        config(base_url="wss://console.example.com/"), cast(Any, None), RecordingControl()
    )
    console.start()
    try:
        assert console.url == "wss://console.example.com/"
    finally:
        console.stop()


def test_a_busy_port_stops_the_agent_with_a_clear_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        console = HostConsole(config(wsproxy_port=port), cast(Any, None), RecordingControl())
        with pytest.raises(SystemExit, match=rf"cannot listen on 127.0.0.1:{port}.*wsproxy_port"):
            console.start()


def test_admission_spends_the_token_through_the_control() -> None:
    control = RecordingControl()
    control.console_tokens = {"t": ("c-1", None)}
    console = HostConsole(config(), cast(Any, None), control)
    assert console._admit(ConsoleTicket("t", "c-1", None))
    assert not console._admit(ConsoleTicket("t", "c-1", None))
