"""The TLS options: both or neither, files that load, and the URLs that follow."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from dockyard.compute.console_host import HostConsole
from dockyard.config.tls import server_context
from dockyard.config.websocket_proxy import WebsocketProxyConfig
from tests.fakes.control import RecordingControl
from tests.fakes.runtime import FakeRuntime
from tests.support.tls import make_certificate


def test_no_files_no_tls() -> None:
    assert server_context("", "", "api") is None


def test_a_certificate_and_its_key_make_a_modern_server_context(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    context = server_context(str(cert), str(key), "api")
    assert context is not None
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("which", ["cert", "key"])
def test_one_without_the_other_stops_the_process(tmp_path: Path, which: str) -> None:
    cert, key = make_certificate(tmp_path)
    given = (str(cert), "") if which == "cert" else ("", str(key))
    with pytest.raises(SystemExit, match=r"\[api\] ssl_cert_file and ssl_key_file must be set"):
        server_context(*given, "api")


def test_files_that_do_not_load_stop_the_process_naming_them(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    with pytest.raises(SystemExit, match=r"\[websocket_proxy\] .*missing.pem"):
        server_context(str(tmp_path / "missing.pem"), str(key), "websocket_proxy")
    other = tmp_path / "other"
    other.mkdir()
    _, wrong_key = make_certificate(other)
    with pytest.raises(SystemExit, match="cannot be used"):
        server_context(str(cert), str(wrong_key), "api")


def test_the_console_url_is_wss_with_a_certificate(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    settings = WebsocketProxyConfig(
        enabled=True,
        wsproxy_host="127.0.0.1",
        wsproxy_port=0,
        base_url="",
        allowed_origins=[],
        token_ttl=60,
        ssl_cert_file=str(cert),
        ssl_key_file=str(key),
    )
    console = HostConsole(settings, FakeRuntime("tls-host"), RecordingControl())
    console.start()
    try:
        assert console.url == f"wss://127.0.0.1:{console.proxy.port}/"
    finally:
        console.stop()
