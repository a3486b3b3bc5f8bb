"""`dockyard up` with a certificate: HTTPS for the API, WSS for the console proxy.

The certificate is made here (a self-signed one for 127.0.0.1, which is also its own
CA); the real `openstack` CLI reaches the service only when told to trust it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import websocket

from dockyard.domain.models import LABEL_HOST
from tests.conftest import TEST_IMAGE
from tests.e2e.process import Instance, stop
from tests.support.tls import make_certificate

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

BIN = Path(sys.executable).parent


def admin_settings(instance: Instance) -> dict[str, str]:
    env = {}
    for line in (instance.root / "data" / "admin-openrc").read_text().splitlines():
        if line.startswith("export OS_"):
            name, value = line.removeprefix("export ").split("=", 1)
            env[name] = shlex.split(value)[0]
    return env


def openstack(creds: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "REQUESTS_CA"))}
    return subprocess.run(
        [str(BIN / "openstack"), *argv],
        env={**env, **creds},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.fixture(scope="module")
def tls_instance(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Instance]:
    root = tmp_path_factory.mktemp("dockyard-tls")
    cert_file, key_file = make_certificate(root)
    instance = Instance.new(
        root,
        prefix="tls",
        auth_strategy=None,
        split_output=True,
        extra_config=["[api]", f"ssl_cert_file = {cert_file}", f"ssl_key_file = {key_file}"],
    )
    instance.ca_file = cert_file
    process = instance.start()
    try:
        yield instance
        assert stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        labels = {"label": f"{LABEL_HOST}={instance.host}"}
        for container in docker_client.containers.list(all=True, filters=labels):
            container.remove(force=True)


def token(tls_instance: Instance) -> str:
    creds = admin_settings(tls_instance)
    ca = str(tls_instance.ca_file)
    issued = openstack(creds, "--os-cacert", ca, "token", "issue", "-f", "value", "-c", "id")
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def api(tls_instance: Instance, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"X-Auth-Token": token(tls_instance), "OpenStack-API-Version": "container 1.40"}
    return requests.request(
        method, tls_instance.url + path, headers=headers, verify=str(tls_instance.ca_file),
        timeout=30, **kw,
    )  # fmt: skip


def test_the_openstack_cli_works_over_https_when_it_trusts_the_certificate(
    tls_instance: Instance,
) -> None:
    creds = admin_settings(tls_instance)
    assert creds["OS_AUTH_URL"] == f"https://127.0.0.1:{tls_instance.port}/v3"
    assert "https://" in tls_instance.output.read_text()
    ca = ["--os-cacert", str(tls_instance.ca_file)]

    untrusted = openstack(creds, "appcontainer", "list")
    assert untrusted.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted.stderr

    run = openstack(creds, *ca, "appcontainer", "run", "--name", "tls-box", "-f", "json",
                    TEST_IMAGE, "sleep", "300")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["name"] == "tls-box"
    headers = {"X-Auth-Token": token(tls_instance), "OpenStack-API-Version": "container 1.40"}
    deadline = time.monotonic() + 60
    while True:
        shown = requests.get(
            f"{tls_instance.url}/v1/containers/tls-box", headers=headers,
            verify=str(tls_instance.ca_file), timeout=30,
        ).json()  # fmt: skip
        if shown["status"] == "Running" and shown["task_state"] is None:
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.3)
    listed = openstack(creds, *ca, "appcontainer", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert [c["name"] for c in json.loads(listed.stdout)] == ["tls-box"]

    # Plain HTTP on the same port is not served.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_instance.port}/", timeout=5)


def test_the_console_proxy_speaks_wss_with_the_same_certificate(tls_instance: Instance) -> None:
    session = api(
        tls_instance,
        "POST",
        "/v1/containers/tls-box/execute",
        params={"command": "sh", "run": "false", "interactive": "true"},
    )
    assert session.status_code == 200, session.text
    url = session.json()["proxy_url"]
    assert url.startswith("wss://127.0.0.1:"), url

    terminal = websocket.create_connection(
        url, subprotocols=["binary"], timeout=20, sslopt={"ca_certs": str(tls_instance.ca_file)}
    )
    terminal.send_binary(b"echo tls-$((6*7))\nexit\n")
    seen = b""
    while b"tls-42" not in seen:
        chunk = terminal.recv()
        assert chunk, f"the session ended early: {seen!r}"
        seen += chunk if isinstance(chunk, bytes) else chunk.encode()
    terminal.close()
