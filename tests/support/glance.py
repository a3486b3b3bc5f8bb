"""A real glance-api on 127.0.0.1 behind a real Keystone: SQLite, file store, one gunicorn
worker (two on SQLite lose uploads)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.keystone import Keystone

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-glance" / "bin"
SERVICE_PASSWORD = "glance-service-test-password"
#: The user Dockyard's agents and API reach Glance as.
DOCKYARD_USER, DOCKYARD_PASSWORD = "dockyard-images", "dockyard-images-test-password"


def _paste_ini() -> Path:
    return ROOT / ".venv-glance" / "etc" / "glance" / "glance-api-paste.ini"


@dataclass
class Glance:
    state: Path
    port: int
    keystone: Keystone
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> Path:
        """Where the file store keeps each image's data, as a file named after its id."""
        return self.state / "images"

    def setup(self) -> None:
        """Config, database, and in Keystone: the glance service user, the 'image'
        service and its endpoints, and a service user for Dockyard."""
        self.state.mkdir(parents=True, exist_ok=True)
        self.keystone.user("glance", SERVICE_PASSWORD, "service", "admin")
        self.keystone.user(DOCKYARD_USER, DOCKYARD_PASSWORD, "service", "admin")
        self.keystone.register("image", "glance", self.url)
        for sub in ("images", "staging", "tasks"):
            (self.state / sub).mkdir(exist_ok=True)
        shutil.copy(_paste_ini(), self.state / "glance-api-paste.ini")
        (self.state / "glance-api.conf").write_text(
            "[DEFAULT]\n"
            "enabled_backends = fs:file\n"
            "[glance_store]\ndefault_backend = fs\n"
            f"[fs]\nfilesystem_store_datadir = {self.store}\n"
            f"[os_glance_staging_store]\nfilesystem_store_datadir = {self.state / 'staging'}\n"
            f"[os_glance_tasks_store]\nfilesystem_store_datadir = {self.state / 'tasks'}\n"
            f"[database]\nconnection = sqlite:///{self.state / 'glance.db'}\n"
            "[paste_deploy]\nflavor = keystone\n"
            f"config_file = {self.state / 'glance-api-paste.ini'}\n"
            "[keystone_authtoken]\n"
            f"www_authenticate_uri = {self.keystone.url}\n"
            f"auth_url = {self.keystone.url}\n"
            "auth_type = password\n"
            "project_domain_name = Default\nuser_domain_name = Default\n"
            f"project_name = service\nusername = glance\npassword = {SERVICE_PASSWORD}\n"
        )
        subprocess.run(
            [str(VENV / "glance-manage"), "--config-file", str(self.state / "glance-api.conf"),
             "db_sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        log = (self.state / "gunicorn.log").open("ab")
        env = {**os.environ, "OS_GLANCE_CONFIG_DIR": str(self.state), "PATH": str(VENV)}
        self.process = subprocess.Popen(
            [str(VENV / "gunicorn"), "-w", "1", "--timeout", "300", "--access-logfile", "-",
             "-b", f"127.0.0.1:{self.port}", "glance.wsgi.api:application"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.state,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(self.url + "/versions", timeout=5).status_code in (200, 300):
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"Glance did not answer on {self.url}; see {self.state}/gunicorn.log")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)

    # -- what tests do with images ---------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.keystone.token(DOCKYARD_USER, DOCKYARD_PASSWORD, "service")}

    def upload(self, name: str, data: Path, container_format: str = "docker") -> str:
        headers = self._headers()
        made = requests.post(
            self.url + "/v2/images",
            json={"name": name, "container_format": container_format, "disk_format": "raw",
                  "visibility": "public"},
            headers=headers, timeout=30,
        )  # fmt: skip
        made.raise_for_status()
        image_id = str(made.json()["id"])
        with data.open("rb") as body:
            put = requests.put(
                f"{self.url}/v2/images/{image_id}/file",
                data=body,
                headers={**headers, "Content-Type": "application/octet-stream"},
                timeout=120,
            )
        put.raise_for_status()
        return image_id

    def image(self, image_id: str) -> dict[str, object]:
        answer = requests.get(
            f"{self.url}/v2/images/{image_id}", headers=self._headers(), timeout=30
        )
        answer.raise_for_status()
        return dict(answer.json())

    def images(self, name: str) -> list[dict[str, object]]:
        answer = requests.get(
            f"{self.url}/v2/images", params={"name": name}, headers=self._headers(), timeout=30
        )
        answer.raise_for_status()
        return list(answer.json()["images"])

    def downloads(self, image_id: str) -> int:
        """How many times Glance has served this image's data (from its access log)."""
        text = (self.state / "gunicorn.log").read_text(errors="replace")
        return text.count(f'"GET /v2/images/{image_id}/file ')
