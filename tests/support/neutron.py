"""A real neutron-server on 127.0.0.1 for the neutron driver's tests.

ML2 with no mechanism drivers and no agents, a fake message transport, MariaDB with
Neutron's own migrations, and keystonemiddleware against a test Keystone
(tests/support/keystone.py). Installed, and its ``neutron`` database migrated, by
scripts/ensure-neutron.sh; tests keep apart by making their own Keystone projects.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.keystone import Keystone

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-neutron" / "bin"
NEUTRON_PASSWORD = "neutron-service-test-password"
DOCKYARD_PASSWORD = "dockyard-service-test-password"
DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/neutron"

# Neutron reads its configuration files from sys.argv when its app is built; under
# gunicorn it would see gunicorn's arguments, so a module puts Neutron's own there.
APP_MODULE = """\
import sys
sys.argv = [sys.argv[0], "--config-file", {conf!r}, "--config-file", {ml2!r}]
from neutron.wsgi.api import application
"""


def installed() -> bool:
    return (VENV.parent / ".migrated").exists()


@dataclass
class Neutron:
    state: Path
    port: int
    keystone: Keystone
    database_url: str = DATABASE_URL
    process: subprocess.Popen[bytes] | None = None
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.state / "neutron.conf"

    @property
    def ml2_config(self) -> Path:
        return self.state / "ml2_conf.ini"

    def setup(self) -> None:
        """Configuration, and Keystone's records for it."""
        self.state.mkdir(parents=True, exist_ok=True)
        ks = self.keystone
        self.config.write_text(
            "[DEFAULT]\ncore_plugin = ml2\nservice_plugins =\nauth_strategy = keystone\n"
            "transport_url = fake://\n"
            f"api_paste_config = {VENV.parent / 'etc' / 'neutron' / 'api-paste.ini'}\n"
            f"state_path = {self.state}\n"
            f"[database]\nconnection = {self.database_url}\n"
            "[keystone_authtoken]\n"
            f"www_authenticate_uri = {ks.url}\nauth_url = {ks.url}\n"
            "auth_type = password\nusername = neutron\n"
            f"password = {NEUTRON_PASSWORD}\nproject_name = service\n"
            "user_domain_id = default\nproject_domain_id = default\n"
            f"[oslo_concurrency]\nlock_path = {self.state / 'lock'}\n"
        )
        self.ml2_config.write_text(
            "[ml2]\ntype_drivers = local,flat,vlan,vxlan\ntenant_network_types = vxlan\n"
            "mechanism_drivers =\nextension_drivers = port_security\n"
            "[ml2_type_vxlan]\nvni_ranges = 1:10000\n"
            "[ml2_type_flat]\nflat_networks = *\n"
        )
        (self.state / "neutron_app.py").write_text(
            APP_MODULE.format(conf=str(self.config), ml2=str(self.ml2_config))
        )
        ks.project("service")
        ks.ensure_role("service")
        ks.user("neutron", NEUTRON_PASSWORD, "service", "service")
        ks.grant("neutron", "service", "admin")
        ks.user("dockyard", DOCKYARD_PASSWORD, "service", "service")
        ks.grant("dockyard", "service", "admin")
        ks.register("network", "neutron", self.url)

    def start(self) -> None:
        log = (self.state / "gunicorn.log").open("ab")
        self.process = subprocess.Popen(
            [str(VENV / "gunicorn"), "--chdir", str(self.state), "-w", "2",
             "-b", f"127.0.0.1:{self.port}", "neutron_app:application"],
            stdout=log, stderr=subprocess.STDOUT, env={"PATH": str(VENV)},
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"Neutron did not answer on {self.url}; see {self.state}")
        self._default_rules()

    def _default_rules(self) -> None:
        """The rules of a new project's ``default`` group. Neutron's migrations add them;
        a server whose tables came from its models has none, so they are added when
        missing."""
        if self.admin("GET", "/v2.0/default-security-group-rules")["default_security_group_rules"]:
            return
        for direction in ("ingress", "egress"):
            for ethertype in ("IPv4", "IPv6"):
                rule: dict[str, Any] = {
                    "direction": direction,
                    "ethertype": ethertype,
                    "used_in_default_sg": True,
                    "used_in_non_default_sg": direction == "egress",
                }
                if direction == "ingress":
                    rule["remote_group_id"] = "PARENT"
                self.admin(
                    "POST", "/v2.0/default-security-group-rules", default_security_group_rule=rule
                )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    # -- REST calls --------------------------------------------------------

    def call(self, token: str, method: str, path: str, **body: Any) -> requests.Response:
        return self.session.request(
            method,
            self.url + path,
            json=body or None,
            headers={"X-Auth-Token": token},
            timeout=30,
        )

    def admin(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        token = self.keystone.admin_token()
        response = self.call(token, method, path, **body)
        response.raise_for_status()
        return dict(response.json()) if response.content else {}


def driver_config(neutron: Neutron) -> list[str]:
    """The configuration that puts a Dockyard on ``neutron`` as its service user."""
    return [
        "[network]",
        "driver = neutron",
        "[neutron]",
        f"auth_url = {neutron.keystone.url}",
        "username = dockyard",
        f"password = {DOCKYARD_PASSWORD}",
        "project_name = service",
    ]
