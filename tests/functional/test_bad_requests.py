"""Malformed or disallowed requests: the right 4xx, and nothing changes anywhere.

Every case sends one bad request to a real all-in-one service and checks the
status, the error body (api-containers.md §3.1) and that neither the database
nor the Docker Engine was touched: all ``containers`` rows, the action and
event counts, the hosts' claimed resources and the engine containers of this
host are compared before and after.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from dockyard.db.models import (
    ActionEventRow,
    ActionRow,
    ContainerRow,
    HostRow,
    VolumeAttachmentRow,
    VolumeRow,
)
from dockyard.domain.labels import LABEL_HOST
from dockyard.domain.volumes import VolumeAttachment
from tests.conftest import LATEST, TEST_IMAGE, Dockyard
from tests.support.quiet import quiet_agent

pytestmark = pytest.mark.docker

NO_SUCH_UUID = "8c1d8e5e-0b0f-4b8e-9d7e-2f0e1f3a9b11"
JSON = {"Content-Type": "application/json"}
UNSUPPORTED = "Requested microversion is unsupported"
VERSION_HEADERS = ("OpenStack-API-Minimum-Version", "OpenStack-API-Maximum-Version")


@dataclass(frozen=True)
class Case:
    """One bad request and what the spec says the answer is.

    ``path`` may contain ``{running}`` / ``{stopped}`` (the set-up containers'
    UUIDs). ``code`` is the slug after ``container.`` (for framework errors,
    the status phrase in kebab case). ``detail`` lists substrings the error detail must contain; the
    same placeholders are expanded in them.
    """

    method: str
    path: str
    status: int
    code: str | tuple[str, ...]  # a tuple where the spec allows more than one slug
    detail: tuple[str, ...] = ()
    json: Any = None
    data: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    version: str = LATEST
    echo_version: str | None = None  # OpenStack-API-Version the response must carry
    title: str | None = None
    allow: tuple[str, ...] = ()  # methods the Allow header must list


def create(
    body: dict[str, Any] | None = None,
    status: int = 400,
    code: str = "schema-validation-error",
    detail: tuple[str, ...] = (),
    *,
    query: str = "",
    version: str = LATEST,
    base: bool = True,
) -> Case:
    """A create request; ``body`` is merged over a valid minimal body when ``base``."""
    full = {"image": TEST_IMAGE, "memory": 32, "cpu": 0.1} if base else {}
    full.update(body or {})
    return Case("POST", "/v1/containers" + query, status, code, detail, json=full, version=version)


#: The statuses of the slugs that are not 400s.
STATUS_OF = {"volume-not-found": 404, "volume-in-use": 409}


def v(minor: int) -> str:
    return f"container 1.{minor}"


CASES: list[Any] = [
    # -- create: media type and body shape (§8.1, §1.3) --------------------------
    pytest.param(
        Case(
            "POST",
            "/v1/containers",
            415,
            "unsupported-media-type",
            data=f'{{"image": "{TEST_IMAGE}"}}',
        ),
        id="create-no-content-type",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers",
            415,
            "unsupported-media-type",
            data=f'{{"image": "{TEST_IMAGE}"}}',
            headers={"Content-Type": "text/plain"},
        ),
        id="create-text-plain",
    ),
    # -- create: bodies Python's parser takes but JSON does not (issue 13.3) -------
    *(
        pytest.param(
            Case(
                "POST",
                "/v1/containers",
                400,
                "invalid-value",
                (f"{constant} is not a JSON number",),
                data=f'{{"image": "{TEST_IMAGE}", "cpu": {constant}}}',
                headers=JSON,
            ),
            id=f"create-cpu-{constant}",
        )
        for constant in ("NaN", "Infinity", "-Infinity")
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers",
            400,
            "invalid-value",
            ("too deeply",),
            data="[" * 100_000 + "]" * 100_000,
            headers=JSON,
        ),
        id="create-nested-100000-deep",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers",
            400,
            ("invalid-value", "schema-validation-error"),  # the spec names no slug for this
            data='{"image": ',
            headers=JSON,
        ),
        id="create-invalid-json",
    ),
    pytest.param(
        Case("POST", "/v1/containers", 400, "schema-validation-error", json=[TEST_IMAGE]),
        id="create-body-is-array",
    ),
    pytest.param(create({"memory": 32}, base=False, detail=("image",)), id="create-missing-image"),
    pytest.param(create({"image": "a"}, detail=("image",)), id="create-image-too-short"),
    # -- create: image references --------------------------------------------------
    pytest.param(
        create({"image": "Busybox"}, code="image-not-found", detail=("image", "Busybox")),
        id="create-image-uppercase",
    ),
    pytest.param(create({"image": "a b"}, detail=("image",)), id="create-image-space"),
    pytest.param(create({"image": "x:"}, detail=("image",)), id="create-image-empty-tag"),
    pytest.param(create({"image": "-x"}, detail=("image",)), id="create-image-leading-dash"),
    pytest.param(
        create(
            {"image": "no-such/image:1", "image_pull_policy": "never"},
            code="image-not-found",
            detail=("no-such/image:1",),
        ),
        id="create-image-absent-pull-never",
    ),
    pytest.param(
        create(
            {"image": "127.0.0.1:5001/nope/nothing:1", "image_pull_policy": "ifnotpresent"},
            code="image-not-found",
            detail=("127.0.0.1:5001/nope/nothing:1",),
        ),
        id="create-image-absent-from-registry",
    ),
    pytest.param(
        create({"image": "127.0.0.1:5999/x:1"}, code="image-not-found", detail=("127.0.0.1:5999",)),
        id="create-image-registry-unreachable",
    ),
    # -- create: resources ----------------------------------------------------------
    pytest.param(create({"memory": "2"}, detail=("memory",)), id="create-memory-below-min"),
    pytest.param(create({"memory": 9000}, detail=("memory",)), id="create-memory-above-max"),
    pytest.param(create({"memory": "abc"}, detail=("memory",)), id="create-memory-not-a-number"),
    pytest.param(create({"cpu": 0}, detail=("cpu",)), id="create-cpu-zero"),
    pytest.param(create({"cpu": 16.5}, detail=("cpu",)), id="create-cpu-above-max"),
    pytest.param(create({"cpu": "x"}, detail=("cpu",)), id="create-cpu-not-a-number"),
    # -- create: unknown keys and query ---------------------------------------------
    pytest.param(create({"bogus_key": 1}, detail=("bogus_key",)), id="create-unknown-body-key"),
    pytest.param(
        create(query="?bogus_param=1", detail=("bogus_param",)), id="create-unknown-query"
    ),
    pytest.param(create(query="?run=maybe", detail=("run",)), id="create-run-maybe"),
    pytest.param(create(query="?run=true&run=false", detail=("run",)), id="create-run-given-twice"),
    # -- create: names and commands -------------------------------------------------
    pytest.param(create({"name": "bad name!"}, detail=("name",)), id="create-name-bad-chars"),
    pytest.param(create({"name": "a"}, detail=("name",)), id="create-name-one-char"),
    pytest.param(
        create({"command": ["sleep", "1"]}, version=v(19), detail=("command",)),
        id="create-command-list-at-1.19",
    ),
    pytest.param(
        create({"command": "sleep 1"}, version=v(20), detail=("command",)),
        id="create-command-string-at-1.20",
    ),
    # -- create: parameters newer than the negotiated version (§2.3) ---------------
    pytest.param(
        create({"entrypoint": ["sh"]}, version=v(39), detail=("entrypoint",)),
        id="create-entrypoint-at-1.39",
    ),
    pytest.param(
        create({"host": "anything"}, version=v(38), detail=("host",)), id="create-host-at-1.38"
    ),
    pytest.param(
        create(
            {"auto_remove": False},
            code="invalid-param-in-version",
            version=v(2),
            detail=("auto_remove",),
        ),
        id="create-auto-remove-at-1.2",
    ),
    pytest.param(
        create(
            {"runtime": "runc"}, code="invalid-param-in-version", version=v(4), detail=("runtime",)
        ),
        id="create-runtime-at-1.4",
    ),
    pytest.param(
        create(
            {"hostname": "web"},
            code="invalid-param-in-version",
            version=v(8),
            detail=("hostname",),
        ),
        id="create-hostname-at-1.8",
    ),
    pytest.param(
        create(
            {"healthcheck": {"cmd": "true", "interval": 5}},
            code="invalid-param-in-version",
            version=v(21),
            detail=("healthcheck",),
        ),
        id="create-healthcheck-at-1.21",
    ),
    # -- create: values the host or policy refuses ----------------------------------
    pytest.param(
        create({"runtime": "no-such-runtime"}, code="invalid-value", detail=("runtime",)),
        id="create-runtime-not-offered",
    ),
    pytest.param(
        create(
            {"host": "no-such-host"},
            status=404,
            code="requested-host-not-found",
            version=v(39),
            detail=("no-such-host",),
        ),
        id="create-requested-host-unknown",
    ),
    pytest.param(
        create({"privileged": "maybe"}, version=v(21), detail=("privileged",)),
        id="create-privileged-not-a-boolean",
    ),
    pytest.param(
        create({"hostname": "bad host"}, detail=("hostname",)), id="create-hostname-space"
    ),
    pytest.param(
        create(
            {"restart_policy": {"Name": "always", "MaximumRetryCount": "3"}},
            code="invalid-value",
            detail=("MaximumRetryCount",),
        ),
        id="create-restart-always-with-retries",
    ),
    pytest.param(
        create({"restart_policy": {"Name": "sometimes"}}, detail=("restart_policy",)),
        id="create-restart-name-unknown",
    ),
    pytest.param(
        create({"environment": {"A": 1}}, detail=("environment",)),
        id="create-environment-not-string",
    ),
    # -- microversion negotiation (§2.1, §3.3) --------------------------------------
    pytest.param(
        Case(
            "GET",
            "/v1/containers",
            406,
            "unsupported-version",
            version="container 1.41",
            echo_version="container 1.41",
            detail=("1.41",),
            title=UNSUPPORTED,
        ),
        id="version-1.41",
    ),
    pytest.param(
        Case(
            "GET",
            "/v1/containers",
            406,
            "unsupported-version",
            version="container 2.0",
            echo_version="container 2.0",
            detail=("2.0",),
            title=UNSUPPORTED,
        ),
        id="version-2.0",
    ),
    pytest.param(
        Case(
            "GET",
            "/v1/containers",
            406,
            "unsupported-version",
            version="container 1.0",
            echo_version="container 1.0",
            detail=("1.0",),
            title=UNSUPPORTED,
        ),
        id="version-1.0",
    ),
    pytest.param(
        Case("GET", "/v1/containers", 406, "not-acceptable", version="container 1.x"),
        id="version-1.x",
    ),
    pytest.param(
        Case("GET", "/v1/containers", 406, "not-acceptable", version="compute 1.2"),
        id="version-wrong-service",
    ),
    pytest.param(
        Case("GET", "/v1/containers", 406, "not-acceptable", version="1.2"), id="version-no-service"
    ),
    # -- list (§8.2) ----------------------------------------------------------------
    pytest.param(
        Case("GET", "/v1/containers?limit=0", 400, "invalid-value", ("limit",)), id="list-limit-0"
    ),
    pytest.param(
        Case("GET", "/v1/containers?limit=abc", 400, "invalid-value", ("limit",)),
        id="list-limit-abc",
    ),
    pytest.param(
        Case("GET", "/v1/containers?sort_dir=up", 400, "invalid-value", ("sort_dir",)),
        id="list-sort-dir-up",
    ),
    pytest.param(
        Case("GET", "/v1/containers?sort_key=nope", 400, "invalid-parameter-value", ("nope",)),
        id="list-sort-key-unknown",
    ),
    pytest.param(
        Case("GET", "/v1/containers?colour=blue", 400, "invalid-value", ("colour",)),
        id="list-unknown-parameter",
    ),
    pytest.param(
        Case("GET", f"/v1/containers?marker={NO_SUCH_UUID}", 404, "container-not-found"),
        id="list-marker-missing",
    ),
    # -- show (§8.3) ----------------------------------------------------------------
    pytest.param(
        Case("GET", f"/v1/containers/{NO_SUCH_UUID}", 404, "container-not-found", (NO_SUCH_UUID,)),
        id="show-missing-uuid",
    ),
    pytest.param(
        Case("GET", "/v1/containers/no-such-name", 404, "container-not-found", ("no-such-name",)),
        id="show-missing-name",
    ),
    # -- delete (§8.5, §6) ----------------------------------------------------------
    pytest.param(
        Case(
            "DELETE",
            "/v1/containers/{running}",
            409,
            "invalid-state-exception",
            ("{running}", "Running"),
        ),
        id="delete-running",
    ),
    pytest.param(
        Case(
            "DELETE",
            "/v1/containers/{stopped}?force=True",
            400,
            "invalid-param-in-version",
            ("force",),
            version=v(6),
        ),
        id="delete-force-at-1.6",
    ),
    pytest.param(
        Case(
            "DELETE",
            "/v1/containers/{running}?stop=True",
            400,
            "invalid-param-in-version",
            ("stop",),
            version=v(11),
        ),
        id="delete-stop-at-1.11",
    ),
    pytest.param(
        Case(
            "DELETE",
            "/v1/containers/{stopped}?purge=True",
            400,
            "schema-validation-error",
            ("purge",),
        ),
        id="delete-unknown-query",
    ),
    pytest.param(
        Case(
            "DELETE",
            "/v1/containers/{stopped}?force=maybe",
            400,
            "schema-validation-error",
            ("force",),
        ),
        id="delete-force-maybe",
    ),
    # -- lifecycle actions in the wrong state (§6, §9) ------------------------------
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/start",
            409,
            "invalid-state-exception",
            ("{running}", "Running"),
        ),
        id="start-running",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{stopped}/stop",
            409,
            "invalid-state-exception",
            ("{stopped}", "Stopped"),
        ),
        id="stop-stopped",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{stopped}/pause",
            409,
            "invalid-state-exception",
            ("{stopped}", "Stopped"),
        ),
        id="pause-stopped",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/unpause",
            409,
            "invalid-state-exception",
            ("{running}", "Running"),
        ),
        id="unpause-running",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{stopped}/kill",
            409,
            "invalid-state-exception",
            ("{stopped}", "Stopped"),
        ),
        id="kill-stopped",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{stopped}/execute?command=true",
            409,
            "invalid-state-exception",
            ("{stopped}", "Stopped"),
        ),
        id="execute-stopped",
    ),
    # -- action parameters (§9, §10) ------------------------------------------------
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/kill",
            400,
            "schema-validation-error",
            ("signal",),
            json={"signal": 9},
        ),
        id="kill-signal-json-integer",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/kill?signal=SIGFOO",
            400,
            "schema-validation-error",
            ("signal",),
        ),
        id="kill-signal-unknown",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/stop?timeout=-1",
            400,
            "schema-validation-error",
            ("timeout",),
        ),
        id="stop-timeout-negative",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/stop?timeout=abc",
            400,
            "schema-validation-error",
            ("timeout",),
        ),
        id="stop-timeout-abc",
    ),
    pytest.param(
        Case(
            "GET",
            "/v1/containers/{running}/logs?colour=blue",
            400,
            "schema-validation-error",
            ("colour",),
        ),
        id="logs-unknown-param",
    ),
    pytest.param(
        Case(
            "GET",
            "/v1/containers/{running}/logs?stdout=maybe",
            400,
            "schema-validation-error",
            ("stdout",),
        ),
        id="logs-stdout-maybe",
    ),
    pytest.param(
        Case(
            "POST", "/v1/containers/{running}/execute", 400, "schema-validation-error", ("command",)
        ),
        id="execute-without-command",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/execute",
            400,
            "schema-validation-error",
            ("command",),
            json={"command": ""},
        ),
        id="execute-empty-command",
    ),
    pytest.param(
        Case(
            "POST",
            "/v1/containers/{running}/rename?name=renamed",
            406,
            "not-acceptable",
            version=v(14),
            echo_version=v(14),
        ),
        id="rename-at-1.14",
    ),
    # -- create: mounts (§8.1; docs/volumes.md) -----------------------------------------
    *(
        pytest.param(
            create({"mounts": mounts}, STATUS_OF.get(code, 400), code, detail), id=f"mounts-{name}"
        )
        for name, mounts, code, detail in [
            (
                "source-and-size",
                [{"source": "x", "size": 1, "destination": "/d"}],
                "invalid-value",
                ("either source", "not both"),
            ),
            ("relative", [{"size": 1, "destination": "data"}], "invalid-value", ("relative",)),
            ("dot-dot", [{"size": 1, "destination": "/srv/../etc"}], "invalid-value", ("'..'",)),
            ("root", [{"size": 1, "destination": "/"}], "invalid-value", ("system directory /",)),
            ("proc", [{"size": 1, "destination": "/proc"}], "invalid-value", ("/proc",)),
            ("inside-sys", [{"size": 1, "destination": "/sys/fs/x"}], "invalid-value", ("/sys",)),
            ("dev", [{"size": 1, "destination": "/dev/"}], "invalid-value", ("/dev",)),
            ("usr", [{"size": 1, "destination": "/usr"}], "invalid-value", ("/usr",)),
            ("etc-hosts", [{"size": 1, "destination": "/etc/hosts"}], "invalid-value", ("engine",)),
            ("colon", [{"size": 1, "destination": "/a:b"}], "invalid-value", ("':'",)),
            ("size-zero", [{"size": 0, "destination": "/d"}], "invalid-value", ("at least 1",)),
            ("size-negative", [{"size": -1, "destination": "/d"}], "invalid-value", ("size",)),
            ("size-neg-text", [{"size": "-2", "destination": "/d"}], "invalid-value", ("size",)),
            ("size-fraction", [{"size": "1.5", "destination": "/d"}], "invalid-value", ("size",)),
            ("size-float", [{"size": 1.5, "destination": "/d"}], "schema-validation-error", ()),
            ("size-word", [{"size": "big", "destination": "/d"}], "invalid-value", ("size",)),
            ("size-over-max", [{"size": 5000, "destination": "/d"}], "invalid-value", ("1024",)),
            (
                "unknown-source",
                [{"source": "no-such-volume", "destination": "/d"}],
                "volume-not-found",
                ("no-such-volume",),
            ),
            (
                "other-projects-volume",
                [{"source": "bad-req-foreign", "destination": "/d"}],
                "volume-not-found",
                ("bad-req-foreign",),
            ),
            (
                "volume-in-use",
                [{"source": "bad-req-held", "destination": "/d"}],
                "volume-in-use",
                ("in use",),
            ),
            (
                "bind-not-base64",
                [{"type": "bind", "source": "not base64!", "destination": "/etc/app.conf"}],
                "base-64-exception",
                ("base64",),
            ),
            (
                "bind-with-size",
                [{"type": "bind", "source": "aGk=", "size": 1, "destination": "/etc/a"}],
                "invalid-value",
                ("no size",),
            ),
            (
                "duplicate-destination",
                [{"size": 1, "destination": "/d"}, {"size": 2, "destination": "/d/"}],
                "invalid-value",
                ("share the destination /d",),
            ),
            (
                "same-volume-twice",
                [{"source": "v", "destination": "/a"}, {"source": "v", "destination": "/b"}],
                "invalid-value",
                ("mounted twice",),
            ),
            (
                "type-unknown",
                [{"type": "tmpfs", "size": 1, "destination": "/d"}],
                "invalid-value",
                ("'volume' or 'bind'",),
            ),
            ("no-destination", [{"size": 1}], "schema-validation-error", ()),
            (
                "unknown-key",
                [{"size": 1, "destination": "/d", "mode": "ro"}],
                "schema-validation-error",
                (),
            ),
            ("not-a-list", {"size": 1, "destination": "/d"}, "schema-validation-error", ()),
            (
                "too-many",
                [{"size": 1, "destination": f"/d{n}"} for n in range(17)],
                "invalid-value",
                ("At most 16",),
            ),
        ]
    ),
    pytest.param(
        create(
            {"mounts": [{"type": "volume", "size": 1, "destination": "/d"}]},
            code="invalid-param-in-version",
            detail=("mounts.type", "1.23"),
            version=v(22),
        ),
        id="mounts-type-at-1.22",
    ),
    pytest.param(
        create(
            {"mounts": [{"size": 1, "destination": "/d"}]},
            code="invalid-param-in-version",
            detail=("mounts", "1.11"),
            version=v(10),
        ),
        id="mounts-at-1.10",
    ),
    # -- update (§8.4) --------------------------------------------------------------
    pytest.param(
        Case(
            "PATCH",
            "/v1/containers/{running}",
            400,
            "schema-validation-error",
            ("image",),
            json={"image": TEST_IMAGE},
        ),
        id="patch-unknown-key",
    ),
    pytest.param(
        Case(
            "PATCH",
            "/v1/containers/{running}",
            400,
            "schema-validation-error",
            ("memory",),
            json={"memory": "2"},
        ),
        id="patch-memory-too-small",
    ),
    pytest.param(
        Case("PATCH", "/v1/containers/{running}", 400, "schema-validation-error", json={}),
        id="patch-empty-body",
    ),
    pytest.param(
        Case(
            "PATCH",
            "/v1/containers/{running}",
            400,
            "schema-validation-error",
            ("name",),
            json={"name": "x"},
        ),
        id="patch-name-one-char",
    ),
    # -- routing (§3.2) ---------------------------------------------------------------
    pytest.param(Case("GET", "/v1/no-such-resource", 404, "not-found"), id="unknown-route"),
    pytest.param(
        Case(
            "PUT",
            "/v1/containers",
            405,
            "method-not-allowed",
            json={"image": TEST_IMAGE},
            allow=("GET", "POST"),
        ),
        id="wrong-method",
    ),
]


# -- set-up and state snapshots ---------------------------------------------------


@dataclass(frozen=True)
class Targets:
    running: str
    stopped: str

    def fill(self, text: str) -> str:
        return text.replace("{running}", self.running).replace("{stopped}", self.stopped)


def _counts(dockyard: Dockyard) -> tuple[int, int, int]:
    """Actions, events, and actions still unfinished."""
    with dockyard.node.db.engine.connect() as conn:
        actions = conn.execute(select(func.count()).select_from(ActionRow)).scalar_one()
        events = conn.execute(select(func.count()).select_from(ActionEventRow)).scalar_one()
        open_ = conn.execute(
            select(func.count()).select_from(ActionRow).where(ActionRow.finish_time.is_(None))
        ).scalar_one()
    return int(actions), int(events), int(open_)


@pytest.fixture(scope="module")
def targets(dockyard: Dockyard) -> Iterator[Targets]:
    uuids: list[str] = []
    for name in ("bad-req-running", "bad-req-stopped"):
        response = dockyard.create({"name": name, "command": ["sleep", "3600"]})
        assert response.status_code == 202, response.text
        uuids.append(response.json()["uuid"])
    running, stopped = uuids
    dockyard.wait_for(running, "Running")
    dockyard.wait_for(stopped, "Running")
    response = dockyard.request("POST", f"/v1/containers/{stopped}/stop?timeout=0")
    assert response.status_code == 202, response.text
    dockyard.wait_for(stopped, "Stopped")
    # Volumes the mounts cases name: another project's, and one a container holds.
    volumes = dockyard.node.services.creator.volumes
    assert volumes is not None
    project = dockyard.show(running)["project_id"]
    volumes.driver.create("other-project", 1, "bad-req-foreign")
    held = volumes.driver.create(project, 1, "bad-req-held")
    volumes.driver.placed(held.id, dockyard.host)
    volumes.driver.attach(project, held.id, VolumeAttachment(running, dockyard.host, "/held"))
    # The agent records an operation's event just after it settles the container.
    deadline = time.monotonic() + 30
    while (counts := _counts(dockyard))[0] != counts[1] or counts[2]:
        assert time.monotonic() < deadline, f"actions/events/unfinished stayed {counts}"
        time.sleep(0.05)
    yield Targets(running, stopped)


@pytest.fixture(scope="module")
def quiet(dockyard: Dockyard) -> Iterator[threading.Lock]:
    """The agent's sync waits while one case is compared (tests/support/quiet.py)."""
    with quiet_agent(dockyard) as lock:
        yield lock


def snapshot(dockyard: Dockyard) -> dict[str, Any]:
    """Everything a bad request must leave alone."""
    with dockyard.node.db.engine.connect() as conn:
        containers = [
            tuple(row) for row in conn.execute(select(ContainerRow).order_by(ContainerRow.id))
        ]
        actions = conn.execute(select(func.count()).select_from(ActionRow)).scalar_one()
        events = conn.execute(select(func.count()).select_from(ActionEventRow)).scalar_one()
        hosts = [
            tuple(row)
            for row in conn.execute(
                select(
                    HostRow.name, HostRow.cpu_used_milli, HostRow.memory_used, HostRow.disk_used
                ).order_by(HostRow.name)
            )
        ]
    engine = sorted((c.id, c.status) for c in dockyard.engine_containers())
    with dockyard.node.db.engine.connect() as conn:
        volumes = [tuple(row) for row in conn.execute(select(VolumeRow).order_by(VolumeRow.id))]
        holders = [
            tuple(row)
            for row in conn.execute(
                select(VolumeAttachmentRow).order_by(VolumeAttachmentRow.volume_uuid)
            )
        ]
    engine_volumes = sorted(
        v.name
        for v in dockyard.docker.volumes.list(filters={"label": f"{LABEL_HOST}={dockyard.host}"})
    )
    return {
        "volumes": volumes,
        "volume_attachments": holders,
        "engine_volumes": engine_volumes,
        "containers": containers,
        "container_actions": actions,
        "container_action_events": events,
        "hosts": hosts,
        "engine": engine,
    }


def send(dockyard: Dockyard, case: Case, targets: Targets) -> Any:
    kw: dict[str, Any] = {"headers": dict(case.headers)}
    if case.json is not None:
        kw["json"] = case.json
    elif case.data is not None:
        kw["data"] = case.data.encode()
    return dockyard.request(case.method, targets.fill(case.path), case.version, **kw)


# -- the test -------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_bad_request_is_refused_and_changes_nothing(
    dockyard: Dockyard, targets: Targets, quiet: threading.Lock, case: Case
) -> None:
    with quiet:
        before = snapshot(dockyard)
        response = send(dockyard, case, targets)
        after = snapshot(dockyard)

    described = f"{case.method} {case.path} -> {response.status_code} {response.text[:500]}"
    assert response.status_code == case.status, described
    assert response.headers.get("Content-Type", "").split(";")[0] == "application/json", described
    assert response.headers.get("X-OpenStack-Request-Id", "").startswith("req-"), described

    errors = response.json()["errors"]
    assert len(errors) == 1, described
    error = errors[0]
    assert error["status"] == case.status, described
    codes = (case.code,) if isinstance(case.code, str) else case.code
    assert error["code"] in [f"container.{code}" for code in codes], described
    if case.title is not None:
        assert error["title"] == case.title, described
    assert error["request_id"] == "", described
    assert error["links"] == [], described
    for needle in case.detail:
        assert targets.fill(needle) in error["detail"], described

    if case.echo_version is not None:
        assert response.headers.get("OpenStack-API-Version") == case.echo_version, described
        for header in VERSION_HEADERS:
            assert header in response.headers, described
    for method in case.allow:
        assert method in response.headers.get("Allow", ""), described

    assert after == before, f"{described}: the database or the engine changed"


def test_enough_distinct_cases() -> None:
    ids = [param.id for param in CASES]
    assert len(set(ids)) == len(ids) >= 40


def _send_head_only(dockyard: Dockyard, headers: dict[str, str], first: bytes) -> bytes:
    """Send the request head and ``first`` body bytes, then read the answer unsent the rest."""
    address = dockyard.url.removeprefix("http://")
    host, port = address.split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST /v1/containers HTTP/1.1\r\nHost: {address}\r\n{head}\r\n".encode())
        conn.sendall(first)
        # The server may answer 413 and close before this half-close: that is fine.
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_a_20_mb_body_is_refused_before_it_is_read(
    dockyard: Dockyard, quiet: threading.Lock
) -> None:
    """The 413 arrives though only the first kilobyte of the announced 20 MB was sent."""
    headers = {
        "OpenStack-API-Version": LATEST,
        "Content-Type": "application/json",
        "Content-Length": str(20 * 2**20),
    }
    with quiet:
        before = snapshot(dockyard)
        answer = _send_head_only(dockyard, headers, b'{"image": "' + b"x" * 1024)
        after = snapshot(dockyard)

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", answer[:500]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    [error] = body["errors"]
    assert error["code"] == "container.request-entity-too-large"
    assert "max_request_body_size" in error["detail"]
    assert after == before
