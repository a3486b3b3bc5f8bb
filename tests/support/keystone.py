"""A real Keystone on 127.0.0.1 for identity tests: SQLite, fernet tokens, one gunicorn worker."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-keystone" / "bin"
ADMIN_PASSWORD = "keystone-admin-test-password"

# Keystone parses sys.argv with oslo.config when its app is built; under gunicorn it
# would see gunicorn's arguments, so the app is built from a module that hides them.
APP_MODULE = """\
import sys
sys.argv = sys.argv[:1]
from keystone.server.wsgi import initialize_public_application
application = initialize_public_application()
"""


# Mints a fernet token with Keystone's own keys and an expiry of our choosing (a real
# token for the user and project, only expired), since Keystone issues no short-lived ones.
FERNET_SCRIPT = """\
import datetime, sys
user, project, config, seconds = sys.argv[1:5]
sys.argv = sys.argv[:1]
import keystone.conf
keystone.conf.configure(keystone.conf.CONF)
keystone.conf.CONF(args=[], project="keystone", default_config_files=[config])
from keystone.token import token_formatters as tf
from keystone.token.provider import random_urlsafe_str
when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=float(seconds))
print(tf.TokenFormatter().create_token(
    user, when.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), [random_urlsafe_str()],
    tf.ProjectScopedPayload, methods=["password"], project_id=project))
"""


@dataclass
class Keystone:
    state: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    session: requests.Session = field(default_factory=requests.Session)
    _admin_token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    @property
    def config(self) -> Path:
        return self.state / "keystone.conf"

    def _manage(self, *args: str) -> None:
        subprocess.run(
            [str(VENV / "keystone-manage"), "--config-file", str(self.config), *args],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def setup(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"[database]\nconnection = sqlite:///{self.state / 'keystone.db'}\n"
            "[token]\nprovider = fernet\n"
            f"[fernet_tokens]\nkey_repository = {self.state / 'fernet-keys'}\n"
            f"[credential]\nkey_repository = {self.state / 'credential-keys'}\n"
        )
        (self.state / "keystone_app.py").write_text(APP_MODULE)
        self._manage("db_sync")
        for what in ("fernet_setup", "credential_setup"):
            self._manage(what, "--keystone-user", "root", "--keystone-group", "root")
        url = self.url + "/"
        self._manage(
            "bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-admin-url", url, "--bootstrap-public-url", url,
            "--bootstrap-internal-url", url, "--bootstrap-region-id", "RegionOne",
        )  # fmt: skip

    def start(self) -> None:
        log = (self.state / "gunicorn.log").open("ab")
        env = {"OS_KEYSTONE_CONFIG_FILES": str(self.config), "PATH": str(VENV)}
        # One worker: two on SQLite give "database is locked".
        self.process = subprocess.Popen(
            [str(VENV / "gunicorn"), "--chdir", str(self.state), "-w", "1",
             "-b", f"127.0.0.1:{self.port}", "keystone_app:application"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            # gunicorn accepts connections before Keystone's app has loaded.
            try:
                if requests.get(self.url, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"Keystone did not answer on {self.url}; see {self.state}/gunicorn.log")

    def fernet_token(self, user_id: str, project_id: str, expires_in: float) -> str:
        """A project-scoped token made with Keystone's keys, expiring in ``expires_in`` s."""
        made = subprocess.run(
            [str(VENV / "python"), "-c", FERNET_SCRIPT,
             user_id, project_id, str(self.config), str(expires_in)],
            check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return made.stdout.strip()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)

    # -- admin REST calls --------------------------------------------------

    def token(self, user: str, password: str, project: str) -> str:
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {
                "user": {"name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}},
        }}  # fmt: skip
        response = self.session.post(self.url + "/auth/tokens", json=body, timeout=30)
        response.raise_for_status()
        return str(response.headers["X-Subject-Token"])

    def _admin(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        token = self.admin_token()
        response = self.session.request(
            method,
            self.url + path,
            json=body or None,
            headers={"X-Auth-Token": token},
            timeout=30,
        )
        response.raise_for_status()
        return dict(response.json()) if response.content else {}

    def _id(self, collection: str, name: str) -> str:
        found = self._admin("GET", f"/{collection}?name={name}")[collection]
        return str(found[0]["id"])

    def project_id(self, name: str) -> str:
        return self._id("projects", name)

    def project(self, name: str) -> str:
        made = self._admin("POST", "/projects", project={"name": name, "domain_id": "default"})
        return str(made["project"]["id"])

    def user(self, name: str, password: str, project: str, role: str) -> str:
        made = self._admin(
            "POST", "/users", user={"name": name, "password": password, "domain_id": "default"}
        )
        user_id = str(made["user"]["id"])
        project_id, role_id = self._id("projects", project), self._id("roles", role)
        self._admin("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}")
        return user_id

    def admin_token(self) -> str:
        """The admin's token, issued once (an issue takes seconds on a busy machine)."""
        if self._admin_token is None:
            self._admin_token = self.token("admin", ADMIN_PASSWORD, "admin")
        return self._admin_token

    def ensure_role(self, name: str) -> None:
        if not self._admin("GET", f"/roles?name={name}")["roles"]:
            self._admin("POST", "/roles", role={"name": name})

    def grant(self, user: str, project: str, role: str) -> None:
        user_id, project_id = self._id("users", user), self._id("projects", project)
        role_id = self._id("roles", role)
        self._admin("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}")

    def register(self, service_type: str, name: str, url: str) -> None:
        service = self._admin("POST", "/services", service={"type": service_type, "name": name})
        for interface in ("public", "internal", "admin"):
            self._admin("POST", "/endpoints", endpoint={
                "service_id": service["service"]["id"], "interface": interface,
                "url": url, "region_id": "RegionOne",
            })  # fmt: skip


class Served(Protocol):
    """An OpenStack server a test starts behind Keystone (Glance, Neutron)."""

    def setup(self) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Served)


@contextlib.contextmanager
def behind_keystone(state: Path, port: int, make: Callable[[Keystone], S]) -> Iterator[S]:
    """A fresh Keystone under ``state``, then the server ``make`` builds on it, set up and
    started; both stopped afterwards, whatever failed on the way."""
    keystone = Keystone(state / "keystone", port)
    keystone.setup()
    keystone.start()
    try:
        server = make(keystone)
        try:
            server.setup()
            server.start()
            yield server
        finally:
            server.stop()
    finally:
        keystone.stop()
