"""The web dashboard in a real browser (Debian's headless Chromium through Selenium)
against `dockyard up` on the real engine, with Dockyard's own identity.

The tests share one service and one browser and run in file order. Every page
passes axe-core with no serious or critical violation. Screenshots go to the
pytest temporary directory; with ``DOCKYARD_DASHBOARD_SHOTS=docs/dashboard`` they
are written there too (the ones the README shows).
"""

from __future__ import annotations

import contextlib
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from dockyard.domain.models import LABEL_CONTAINER_ID, LABEL_HOST
from tests.conftest import TEST_IMAGE, private_network_pool
from tests.e2e.browser import axe_violations, chromium, describe, wait_for
from tests.e2e.process import Instance, remove_volumes, stop

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

BIN = Path(sys.executable).parent
VERSION = {"OpenStack-API-Version": "container 1.40"}
BOB_PASSWORD = "bob-dashboard-password"


def parse_openrc(text: str) -> dict[str, str]:
    pairs = (
        line.removeprefix("export ").split("=", 1)
        for line in text.splitlines()
        if line.startswith("export OS_")
    )
    return {name: shlex.split(value)[0] for name, value in pairs}


@dataclass
class Cloud:
    instance: Instance
    admin_password: str
    shots: Path

    @property
    def url(self) -> str:
        return self.instance.url

    def token(self, user: str, password: str, project: str) -> str:
        return self.scoped(user, password, project)[0]

    def scoped(self, user: str, password: str, project: str) -> tuple[str, str]:
        """A token for ``user`` in ``project``, and the project's id."""
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user, "domain": {"id": "default"}, "password": password}
                    },
                },
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }
        }
        reply = requests.post(f"{self.url}/v3/auth/tokens", json=body, timeout=30)
        assert reply.status_code == 201, reply.text
        return reply.headers["X-Subject-Token"], reply.json()["token"]["project"]["id"]

    def api(self, token: str, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {**VERSION, "X-Auth-Token": token, **kw.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def manage(self, *argv: str, stdin: str | None = None) -> None:
        subprocess.run(
            [str(BIN / "dockyard-manage"), "--config-file", str(self.instance.config), *argv],
            input=stdin,
            text=True,
            capture_output=True,
            check=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Cloud]:
    instance = Instance.new(
        tmp_path_factory.mktemp("dockyard-dashboard"),
        prefix="dash",
        auth_strategy=None,
        split_output=True,
        # The engine refuses overlapping bridges and other installations share it.
        extra_config=("[network]", f"project_network_pool = {private_network_pool()}"),
    )
    process = instance.start()
    try:
        admin = parse_openrc((instance.root / "data" / "admin-openrc").read_text())
        shots = tmp_path_factory.mktemp("dashboard-screenshots")
        yield Cloud(instance, admin["OS_PASSWORD"], shots)
        assert stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        labels = {"label": f"{LABEL_HOST}={instance.host}"}
        for container in docker_client.containers.list(all=True, filters=labels):
            container.remove(force=True)
        for network in docker_client.networks.list(filters=labels):
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
        remove_volumes(docker_client, instance)
        if instance.log.exists():
            sys.stderr.write(f"\n===== dockyard log =====\n{instance.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser(cloud: Cloud) -> Iterator[webdriver.Chrome]:
    driver = chromium()
    try:
        yield driver
    finally:
        for entry in driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                sys.stderr.write(f"browser console: {entry.get('message')}\n")
        driver.quit()


# -- helpers ---------------------------------------------------------------


def open_route(driver: webdriver.Chrome, cloud: Cloud, route: str) -> None:
    if not driver.current_url.startswith(f"{cloud.url}/dashboard/"):
        driver.get(f"{cloud.url}/dashboard/#{route}")
    else:
        driver.execute_script("location.hash = arguments[0]", "#" + route)


def title(driver: webdriver.Chrome) -> str:
    return str(
        driver.execute_script(
            "const t = document.getElementById('page-title'); return t ? t.textContent : ''"
        )
    )


def wait_title(driver: webdriver.Chrome, text: str) -> None:
    try:
        wait_for(f"the page titled {text!r}", lambda: text in title(driver))
    except AssertionError as exc:
        shown = driver.execute_script("return document.getElementById('main').innerText")
        raise AssertionError(f"{exc}; the page shows:\n{shown}") from None


def check_page(driver: webdriver.Chrome, cloud: Cloud, name: str) -> None:
    """Screenshot the whole page and fail on serious or critical accessibility violations."""
    time.sleep(0.3)  # let the last poll render
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], max(size["height"], min(int(height) + 140, 2400)))
    driver.execute_script(
        "window.scrollTo(0, 0); document.getElementById('toast').textContent = ''"
    )
    time.sleep(0.2)
    driver.save_screenshot(str(cloud.shots / f"{name}.png"))
    driver.set_window_size(size["width"], size["height"])
    docs = os.environ.get("DOCKYARD_DASHBOARD_SHOTS")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(cloud.shots / f"{name}.png", Path(docs) / f"{name}.png")
    violations = axe_violations(driver)
    assert not violations, f"{name}: accessibility violations:\n{describe(violations)}"


def fill(driver: webdriver.Chrome, values: dict[str, str]) -> None:
    for field, value in values.items():
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)


def log_in(driver: webdriver.Chrome, cloud: Cloud, user: str, password: str, project: str) -> None:
    open_route(driver, cloud, "/login")
    wait_title(driver, "Log in")
    fill(driver, {"username": user, "password": password, "project": project})
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_title(driver, "Containers")


def row_status(driver: webdriver.Chrome, name: str) -> str:
    return str(
        driver.execute_script(
            "for (const row of document.querySelectorAll('#container-rows tr')) {"
            "  if (row.querySelector('td.name').textContent === arguments[0])"
            "    return row.querySelector('td[data-key=status]').dataset.value; }"
            "return '';",
            name,
        )
    )


def listed_names(driver: webdriver.Chrome) -> list[str]:
    cells = driver.find_elements(By.CSS_SELECTOR, "#container-rows td.name")
    return [c.text for c in cells]


def terminal_text(driver: webdriver.Chrome) -> str:
    """The terminal's lines as xterm.js exposes them to screen readers."""
    return str(
        driver.execute_script(
            "return [...document.querySelectorAll('#terminal .xterm-accessibility-tree > *')]"
            ".map((row) => row.textContent).join('\\n');"
        )
    )


# -- the tests -------------------------------------------------------------


def test_login_refuses_a_wrong_password_then_logs_in(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    open_route(browser, cloud, "/containers")
    wait_title(browser, "Log in")  # no session: every page sends you to the login form
    check_page(browser, cloud, "login")
    fill(browser, {"username": "admin", "password": "not-the-password", "project": "admin"})
    browser.find_element(By.ID, "password").send_keys(Keys.ENTER)  # keyboard only
    error = wait_for("the login error", lambda: browser.find_element(By.ID, "login-error").text)
    assert "password" in error.lower() or "not" in error.lower(), error
    assert title(browser) == "Log in"

    log_in(browser, cloud, "admin", cloud.admin_password, "admin")
    assert "admin · project admin" in browser.find_element(By.ID, "who").text
    token = browser.get_cookie("dockyard_token")
    assert token is not None and token["httpOnly"] and token["sameSite"] == "Strict"
    assert "dockyard_token" not in browser.execute_script("return document.cookie")
    assert "dockyard_csrf" in browser.execute_script("return document.cookie")


def test_the_form_shows_the_apis_validation_error_beside_the_field(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    open_route(browser, cloud, "/containers/new")
    wait_title(browser, "Run a container")
    fill(browser, {"name": "too-small", "image": TEST_IMAGE, "memory": "2"})
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    error = wait_for("the memory error", lambda: browser.find_element(By.ID, "memory-error").text)
    assert "memory" in error and "minimum" in error, error
    assert browser.find_element(By.ID, "memory").get_attribute("aria-invalid") == "true"
    assert browser.switch_to.active_element == browser.find_element(By.ID, "memory")
    assert browser.find_element(By.ID, "image-error").text == ""
    check_page(browser, cloud, "create-form-error")
    token = cloud.token("admin", cloud.admin_password, "admin")
    listed = cloud.api(token, "GET", "/v1/containers").json()["containers"]
    assert [c for c in listed if c["name"] == "too-small"] == []  # nothing was created

    # Corrected, and removed when it exits (docker run --rm): it runs, then it is gone.
    fill(browser, {"memory": "32", "command": "true"})
    browser.find_element(By.ID, "auto_remove").click()
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    wait_title(browser, "Container")
    made = browser.current_url.rsplit("/", 1)[1]
    wait_for(
        "the container to remove itself",
        lambda: cloud.api(token, "GET", f"/v1/containers/{made}").status_code == 404,
        timeout=60,
    )
    wait_title(browser, "Container not found")


def test_run_from_the_form_then_logs_stats_actions_and_a_terminal(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    open_route(browser, cloud, "/containers/new")
    wait_title(browser, "Run a container")
    fill(
        browser,
        {
            "name": "dash-web",
            "image": TEST_IMAGE,
            "command": "sh -c 'echo hello-from-dashboard; exec sleep 300'",
            "cpu": "0.2",
            "memory": "64",
            "environment": "GREETING=hi",
            "exposed_ports": "8080/tcp",
            "workdir": "/tmp",
            "labels": "tier=web",
        },
    )
    browser.find_element(By.ID, "restart_policy").send_keys("On failure")
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    wait_title(browser, "Container dash-web")
    details = browser.find_element(By.ID, "details")
    wait_for("dash-web Running", lambda: "Running" in details.text, timeout=60)
    assert "GREETING=hi" in details.text and "on-failure" in details.text
    assert "Labels\ntier=web" in details.text and "Working directory\n/tmp" in details.text
    assert "Ports\n8080" in details.text
    logs = browser.find_element(By.ID, "logs")
    wait_for("the log line", lambda: "hello-from-dashboard" in logs.text)
    wait_for(
        "two stats samples on the chart",
        lambda: browser.find_elements(By.CSS_SELECTOR, "#stats polyline.line-cpu"),
    )
    assert "MiB" in browser.find_element(By.ID, "stats-label").text
    history = browser.find_element(By.ID, "actions-log")
    wait_for("the create action", lambda: "create" in history.text)

    browser.find_element(By.ID, "open-terminal").click()
    status = browser.find_element(By.ID, "terminal-status")
    wait_for("the terminal to connect", lambda: status.text == "Connected.")
    wait_for("the shell prompt", lambda: "/tmp #" in terminal_text(browser))  # its workdir
    typed = browser.find_element(By.CSS_SELECTOR, "#terminal .xterm-helper-textarea")
    typed.send_keys("echo $GREETING-$((6*7))\n")
    wait_for(
        "the command's output",
        lambda: "hi-42" in terminal_text(browser).replace("echo $GREETING-$((6*7))", ""),
    )
    check_page(browser, cloud, "container")


def test_admin_pages_and_quotas(cloud: Cloud, browser: webdriver.Chrome) -> None:
    open_route(browser, cloud, "/hosts")
    wait_title(browser, "Hosts")
    wait_for("this host", lambda: cloud.instance.host in browser.find_element(By.ID, "main").text)
    check_page(browser, cloud, "hosts")
    open_route(browser, cloud, "/services")
    wait_title(browser, "Services")
    main = browser.find_element(By.ID, "main")
    wait_for("the compute service", lambda: "dockyard-compute" in main.text)
    check_page(browser, cloud, "services")
    open_route(browser, cloud, "/quotas")
    wait_title(browser, "Quotas and usage of project admin")
    wait_for("the quota table", lambda: browser.find_elements(By.TAG_NAME, "meter"))
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "main tbody tr")]
    assert "Containers 1 40" in rows and "Memory (MiB) 64 51200" in rows, rows
    check_page(browser, cloud, "quotas")


def test_the_list_filters_sorts_updates_live_and_stops_and_deletes_in_bulk(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    token = cloud.token("admin", cloud.admin_password, "admin")
    made = cloud.api(
        token,
        "POST",
        "/v1/containers?run=true",
        json={
            "name": "dash-worker",
            "image": TEST_IMAGE,
            "command": ["sleep", "300"],
            "memory": 32,
            "cpu": 0.1,
        },
    )
    assert made.status_code == 202, made.text
    open_route(browser, cloud, "/containers")
    wait_title(browser, "Containers")
    browser.execute_script("window.notReloaded = true")
    wait_for(
        "both running",
        lambda: (
            row_status(browser, "dash-worker") == "Running"
            and row_status(browser, "dash-web") == "Running"
        ),
        timeout=60,
    )

    fill(browser, {"filter": "worker"})
    assert listed_names(browser) == ["dash-worker"]
    browser.find_element(By.ID, "filter").clear()
    browser.find_element(By.ID, "filter").send_keys(" ")
    sort = browser.find_element(By.CSS_SELECTOR, "button.sort[data-key=name]")
    sort.click()
    wait_for("ascending names", lambda: listed_names(browser) == ["dash-web", "dash-worker"])
    sort.send_keys(Keys.ENTER)  # keyboard: the second press reverses
    wait_for("descending names", lambda: listed_names(browser) == ["dash-worker", "dash-web"])
    check_page(browser, cloud, "containers")

    browser.find_element(By.ID, "select-all").click()
    browser.find_element(By.ID, "bulk-stop").click()
    wait_for(
        "both stopped, shown without a reload",
        lambda: (
            row_status(browser, "dash-worker") == "Stopped"
            and row_status(browser, "dash-web") == "Stopped"
        ),
        timeout=60,
    )
    wait_for(
        "the task to clear",
        lambda: (
            not browser.find_elements(
                By.XPATH,
                "//tbody[@id='container-rows']//td[@data-key='task_state'][@data-value!='']",
            )
        ),
    )
    browser.find_element(By.ID, "select-all").click()
    browser.find_element(By.ID, "bulk-delete").click()
    browser.switch_to.alert.accept()
    wait_for("the rows to go", lambda: listed_names(browser) == [], timeout=60)
    assert browser.execute_script("return window.notReloaded") is True
    names = [c["name"] for c in cloud.api(token, "GET", "/v1/containers").json()["containers"]]
    assert "dash-web" not in names and "dash-worker" not in names


def test_networks_groups_a_container_on_them_and_images(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    token = cloud.token("admin", cloud.admin_password, "admin")
    # Below every pool project networks are carved from: `dockyard up`'s 10.64.0.0/10 and
    # the test installations' 10.100-10.249, which may be in use beside this test.
    net = f"10.{random.randint(20, 63)}.{random.randint(0, 255)}"
    open_route(browser, cloud, "/networks")
    wait_title(browser, "Networks")
    # A CIDR with host bits set: the network API's 400 beside the CIDR, nothing left behind.
    fill(browser, {"net-name": "dash-net", "subnet-cidr": f"{net}.9/24"})
    browser.find_element(By.CSS_SELECTOR, "#network-form button[type=submit]").click()
    error = wait_for(
        "the CIDR error", lambda: browser.find_element(By.ID, "subnet-cidr-error").text
    )
    assert "host bits" in error, error
    assert browser.find_element(By.ID, "subnet-cidr").get_attribute("aria-invalid") == "true"
    networks = cloud.api(token, "GET", "/v2.0/networks").json()["networks"]
    assert "dash-net" not in [n["name"] for n in networks]
    fill(browser, {"subnet-cidr": f"{net}.0/24", "subnet-gateway": f"{net}.1"})
    browser.find_element(By.CSS_SELECTOR, "#network-form button[type=submit]").click()
    listed = browser.find_element(By.ID, "network-list")
    wait_for("the new network", lambda: f"{net}.0/24 gateway {net}.1" in listed.text)
    assert browser.find_element(By.ID, "subnet-cidr-error").text == ""
    check_page(browser, cloud, "networks")

    open_route(browser, cloud, "/security-groups")
    wait_title(browser, "Security groups")
    fill(browser, {"group-name": "dash-sg"})
    browser.find_element(By.CSS_SELECTOR, "#group-form button[type=submit]").click()
    group = "section.group[data-group='dash-sg']"
    wait_for("the new group", lambda: browser.find_elements(By.CSS_SELECTOR, group))
    wait_for(
        "the group chosen for a rule",
        lambda: (
            "dash-sg" in browser.find_element(By.CSS_SELECTOR, "#rule-group option:checked").text
        ),
    )
    browser.find_element(By.ID, "rule-protocol").send_keys("TCP")
    fill(browser, {"rule-port-min": "8080", "rule-remote": f"{net}.0/24"})
    browser.find_element(By.CSS_SELECTOR, "#rule-form button[type=submit]").click()
    wait_for(
        "the rule in its group",
        lambda: (
            f"ingress IPv4 tcp 8080 {net}.0/24" in browser.find_element(By.CSS_SELECTOR, group).text
        ),
    )
    check_page(browser, cloud, "security-groups")

    open_route(browser, cloud, "/containers/new")
    wait_title(browser, "Run a container")
    fill(
        browser,
        {"name": "dash-netbox", "image": TEST_IMAGE, "command": "sleep 300", "memory": "32"},
    )
    wait_for("dash-net offered", lambda: "dash-net" in browser.find_element(By.ID, "nets").text)
    browser.find_element(By.ID, "nets").send_keys("dash-net")
    for option in browser.find_elements(By.CSS_SELECTOR, "#security_groups option"):
        if option.text == "dash-sg":
            option.click()
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    wait_title(browser, "Container dash-netbox")
    details = browser.find_element(By.ID, "details")
    wait_for("dash-netbox Running", lambda: "Running" in details.text, timeout=60)
    wait_for("its address on dash-net", lambda: f"dash-net: {net}." in details.text)
    assert "dash-sg" in details.text
    uuid = browser.current_url.rsplit("/", 1)[1]
    shown = cloud.api(token, "GET", f"/v1/containers/{uuid}").json()
    (addresses,) = shown["addresses"].values()
    assert addresses[0]["addr"] in details.text

    open_route(browser, cloud, "/images")
    wait_title(browser, "Images")
    repo, tag = TEST_IMAGE.rsplit(":", 1)
    rows = browser.find_element(By.ID, "image-rows")
    wait_for("the container's image", lambda: f"{repo} {tag} {cloud.instance.host}" in rows.text)
    fill(browser, {"repo": "x", "tag": "latest"})  # too short for the API's schema
    browser.find_element(By.CSS_SELECTOR, "#pull-form button[type=submit]").click()
    error = wait_for("the repo error", lambda: browser.find_element(By.ID, "repo-error").text)
    assert "repo" in error, error
    assert browser.find_element(By.ID, "repo").get_attribute("aria-invalid") == "true"
    check_page(browser, cloud, "images")

    # The network is in use by the container: its 409 is shown, and the network stays.
    open_route(browser, cloud, "/networks")
    wait_title(browser, "Networks")
    wait_for(
        "dash-net listed",
        lambda: browser.find_elements(By.CSS_SELECTOR, "button[data-network='dash-net']"),
    )
    browser.find_element(By.CSS_SELECTOR, "button[data-network='dash-net']").click()
    browser.switch_to.alert.accept()
    refused = wait_for("the 409", lambda: browser.find_element(By.ID, "networks-error").text)
    assert "in use" in refused, refused
    assert cloud.api(token, "DELETE", f"/v1/containers/{uuid}?force=true").status_code == 204


def volume_row(driver: webdriver.Chrome, name: str) -> dict[str, str] | None:
    """A volume's row in the volumes view: its cells by column, or None when not listed."""
    found = driver.execute_script(
        "const row = document.querySelector(`#volume-rows tr[data-volume='${arguments[0]}']`);"
        "if (!row) return null;"
        "const [name, size, status, holders] = [...row.cells].map((c) => c.innerText.trim());"
        "return {name, size, status, holders};",
        name,
    )
    return dict(found) if found else None


def run_from_form(driver: webdriver.Chrome, cloud: Cloud, fields: dict[str, str]) -> None:
    open_route(driver, cloud, "/containers/new")
    wait_title(driver, "Run a container")
    fill(driver, {"image": TEST_IMAGE, "memory": "32", **fields})


def test_volumes_made_mounted_from_the_form_refused_while_in_use_then_deleted(
    cloud: Cloud, browser: webdriver.Chrome, docker_client: docker.DockerClient
) -> None:
    token = cloud.token("admin", cloud.admin_password, "admin")
    open_route(browser, cloud, "/volumes")
    wait_title(browser, "Volumes")
    wait_for("the empty list", lambda: browser.find_element(By.ID, "volumes-empty").is_displayed())
    fill(browser, {"volume-name": "dash-vol", "volume-size": "0"})
    browser.find_element(By.CSS_SELECTOR, "#volume-form button[type=submit]").click()
    error = wait_for(
        "the size error", lambda: browser.find_element(By.ID, "volume-size-error").text
    )
    assert "at least 1 GiB" in error, error
    assert browser.find_element(By.ID, "volume-size").get_attribute("aria-invalid") == "true"
    fill(browser, {"volume-size": "1"})
    browser.find_element(By.ID, "volume-size").send_keys(Keys.ENTER)  # keyboard only
    made = wait_for("dash-vol listed", lambda: volume_row(browser, "dash-vol"))
    assert made == {"name": "dash-vol", "size": "1 GiB", "status": "available", "holders": "–"}

    # A new volume from the form: its size is checked beside its field, then it is made.
    run_from_form(browser, cloud, {"name": "dash-scratch", "command": "sleep 300"})
    Select(browser.find_element(By.ID, "mount_volume")).select_by_visible_text(
        "A new volume of the size below"
    )
    fill(browser, {"mount_size": "0", "mount_destination": "/scratch"})
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    error = wait_for(
        "the mount size error", lambda: browser.find_element(By.ID, "mount_size-error").text
    )
    assert "at least 1 GiB" in error, error
    assert browser.switch_to.active_element == browser.find_element(By.ID, "mount_size")
    fill(browser, {"mount_size": "1"})
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    wait_title(browser, "Container dash-scratch")
    details = browser.find_element(By.ID, "details")
    wait_for("dash-scratch Running", lambda: "Running" in details.text, timeout=60)
    wait_for("its new volume", lambda: "(1 GiB) at /scratch" in details.text)
    scratch = browser.current_url.rsplit("/", 1)[1]

    # The named volume, offered by the form, mounted where the form says.
    run_from_form(
        browser,
        cloud,
        {"name": "dash-volbox", "command": "sh -c 'echo kept > /data/note; exec sleep 300'"},
    )
    volume_choice = Select(browser.find_element(By.ID, "mount_volume"))
    wait_for(
        "dash-vol offered",
        lambda: "dash-vol (1 GiB)" in [o.text for o in volume_choice.options],
    )
    volume_choice.select_by_visible_text("dash-vol (1 GiB)")
    fill(browser, {"mount_destination": "/data"})
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    wait_title(browser, "Container dash-volbox")
    details = browser.find_element(By.ID, "details")
    wait_for("dash-volbox Running", lambda: "Running" in details.text, timeout=60)
    wait_for("its volume", lambda: "dash-vol (1 GiB) at /data" in details.text)
    volbox = browser.current_url.rsplit("/", 1)[1]
    labels = [f"{LABEL_HOST}={cloud.instance.host}", f"{LABEL_CONTAINER_ID}={volbox}"]
    [engine] = docker_client.containers.list(filters={"label": labels})
    assert "/data" in [m["Destination"] for m in engine.attrs["Mounts"]]
    assert engine.exec_run(["cat", "/data/note"]).output == b"kept\n"
    check_page(browser, cloud, "container-volume")

    # In use: the list says by whom, and the API's 409 is shown when deleting it.
    open_route(browser, cloud, "/volumes")
    wait_title(browser, "Volumes")
    held = wait_for("dash-vol in use", lambda: volume_row(browser, "dash-vol"))
    assert held["status"] == "in-use" and held["holders"] == "dash-volbox at /data", held
    listed = cloud.api(token, "GET", "/v1/containers").json()["containers"]
    assert {c["uuid"] for c in listed} >= {scratch, volbox}
    browser.find_element(By.CSS_SELECTOR, "button[data-delete-volume='dash-vol']").click()
    browser.switch_to.alert.accept()
    refused = wait_for("the 409", lambda: browser.find_element(By.ID, "volumes-error").text)
    assert f"is in use by {volbox}" in refused, refused
    assert volume_row(browser, "dash-vol") is not None
    rows = browser.find_elements(By.CSS_SELECTOR, "#volume-rows td.holders")
    assert "dash-scratch at /scratch" in [r.text for r in rows]
    check_page(browser, cloud, "volumes")

    # The containers go; the named volume is free again, the new one goes with its container.
    for uuid in (volbox, scratch):
        assert cloud.api(token, "DELETE", f"/v1/containers/{uuid}?force=true").status_code == 204
    wait_for(
        "dash-vol available, the scratch volume gone",
        lambda: (
            (volume_row(browser, "dash-vol") or {}).get("status") == "available"
            and len(browser.find_elements(By.CSS_SELECTOR, "#volume-rows tr")) == 1
        ),
        timeout=90,
    )
    browser.find_element(By.CSS_SELECTOR, "button[data-delete-volume='dash-vol']").click()
    browser.switch_to.alert.accept()
    wait_for("dash-vol gone", lambda: volume_row(browser, "dash-vol") is None, timeout=90)
    assert browser.find_element(By.ID, "volumes-error").text == ""


def test_a_phone_sized_screen_by_keyboard_in_the_dark_theme(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    browser.set_window_size(390, 844)
    try:
        open_route(browser, cloud, "/containers")
        wait_title(browser, "Containers")
        nav = browser.find_element(By.ID, "nav")
        assert not nav.is_displayed()
        toggle = browser.find_element(By.ID, "nav-toggle")
        toggle.send_keys(Keys.ENTER)
        wait_for("the menu", nav.is_displayed)
        assert toggle.get_attribute("aria-expanded") == "true"
        assert browser.switch_to.active_element.text == "Containers"
        check_page(browser, cloud, "phone-menu")
        browser.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait_for("the menu to close", lambda: not nav.is_displayed())
        theme = browser.find_element(By.ID, "theme-toggle")
        before = browser.execute_script("return document.documentElement.dataset.theme")
        theme.send_keys(Keys.ENTER)
        after = browser.execute_script("return document.documentElement.dataset.theme")
        assert {before, after} == {"light", "dark"}
        if after != "dark":
            theme.send_keys(Keys.ENTER)
        open_route(browser, cloud, "/containers/new")
        wait_title(browser, "Run a container")
        check_page(browser, cloud, "phone-dark")
        browser.find_element(By.ID, "theme-toggle").send_keys(Keys.ENTER)
    finally:
        browser.set_window_size(1280, 900)


def test_requests_without_the_csrf_token_are_refused(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    jar = {"dockyard_token": cookies["dockyard_token"], "dockyard_csrf": cookies["dockyard_csrf"]}
    body = {"name": "forged", "image": TEST_IMAGE}
    url = f"{cloud.url}/dashboard/api/v1/containers"
    for headers in ({}, {"X-CSRF-Token": "guessed"}):
        refused = requests.post(
            url, json=body, cookies=jar, headers={**VERSION, **headers}, timeout=30
        )
        assert refused.status_code == 403, refused.text
    listed = requests.get(url, cookies=jar, headers=VERSION, timeout=30)
    assert listed.status_code == 200
    assert "forged" not in [c["name"] for c in listed.json()["containers"]]
    logout = requests.post(f"{cloud.url}/dashboard/logout", cookies=jar, timeout=30)
    assert logout.status_code == 403  # logging somebody out is a state change too


def test_logout_revokes_the_token(cloud: Cloud, browser: webdriver.Chrome) -> None:
    old = browser.get_cookie("dockyard_token")
    assert old is not None
    assert cloud.api(old["value"], "GET", "/v1/containers").status_code == 200
    browser.find_element(By.ID, "logout").click()
    wait_title(browser, "Log in")
    assert browser.get_cookie("dockyard_token") is None
    assert cloud.api(old["value"], "GET", "/v1/containers").status_code == 401
    replayed = requests.get(
        f"{cloud.url}/dashboard/api/v1/containers",
        headers=VERSION,
        cookies={"dockyard_token": old["value"]},
        timeout=30,
    )
    assert replayed.status_code == 401
    open_route(browser, cloud, "/containers")
    wait_title(browser, "Log in")


def test_a_member_of_another_project_sees_none_of_its_containers(
    cloud: Cloud, browser: webdriver.Chrome
) -> None:
    token, admin_project = cloud.scoped("admin", cloud.admin_password, "admin")
    volumes = f"/volume/v3/{admin_project}/volumes"
    secret_volume = cloud.api(
        token, "POST", volumes, json={"volume": {"name": "admin-vol", "size": 1}}
    )
    assert secret_volume.status_code == 202, secret_volume.text
    made = cloud.api(
        token,
        "POST",
        "/v1/containers?run=true",
        json={
            "name": "admin-secret",
            "image": TEST_IMAGE,
            "command": ["sleep", "300"],
            "memory": 32,
            "cpu": 0.1,
        },
    )
    assert made.status_code == 202, made.text
    secret = made.json()["uuid"]
    cloud.manage("project", "create", "team-b")
    cloud.manage(
        "user",
        "create",
        "bob",
        "--password-stdin",
        "--project",
        "team-b",
        "--role",
        "member",
        stdin=BOB_PASSWORD + "\n",
    )
    bob = cloud.token("bob", BOB_PASSWORD, "team-b")
    own = cloud.api(
        bob,
        "POST",
        "/v1/containers?run=true",
        json={
            "name": "bob-box",
            "image": TEST_IMAGE,
            "command": ["sleep", "300"],
            "memory": 32,
            "cpu": 0.1,
        },
    )
    assert own.status_code == 202, own.text

    log_in(browser, cloud, "bob", BOB_PASSWORD, "team-b")
    wait_for("bob's container", lambda: "bob-box" in listed_names(browser))
    time.sleep(3.5)  # one more poll
    assert listed_names(browser) == ["bob-box"]
    assert not browser.find_elements(By.ID, "all-projects")
    assert not browser.find_element(By.CSS_SELECTOR, "a[href='#/hosts']").is_displayed()
    open_route(browser, cloud, f"/containers/{secret}")
    wait_title(browser, "Container not found")
    assert "admin-secret" not in browser.find_element(By.ID, "main").text
    open_route(browser, cloud, "/hosts")
    wait_title(browser, "Hosts")
    assert "administrators only" in browser.find_element(By.ID, "main").text
    open_route(browser, cloud, "/quotas")
    wait_title(browser, "Quotas and usage of project team-b")
    wait_for("bob's quota table", lambda: browser.find_elements(By.TAG_NAME, "meter"))
    rows = browser.find_elements(By.CSS_SELECTOR, "main tbody tr")
    assert any(r.text.startswith("Containers 1 ") for r in rows), [r.text for r in rows]
    open_route(browser, cloud, "/volumes")
    wait_title(browser, "Volumes")
    wait_for(
        "bob's empty list", lambda: browser.find_element(By.ID, "volumes-empty").is_displayed()
    )
    assert "Volumes of project team-b" in browser.find_element(By.ID, "main").text
    assert "admin-vol" not in browser.find_element(By.ID, "main").text
    open_route(browser, cloud, "/containers/new")
    wait_title(browser, "Run a container")
    wait_for("the form's lists", lambda: browser.find_elements(By.CSS_SELECTOR, "form[data-ready]"))
    offered = [o.text for o in Select(browser.find_element(By.ID, "mount_volume")).options]
    assert offered == ["None", "A new volume of the size below"], offered

    # A member deletes a running container of their own: stopped first, no force needed.
    open_route(browser, cloud, f"/containers/{own.json()['uuid']}")
    wait_title(browser, "Container bob-box")
    details = browser.find_element(By.ID, "details")
    wait_for("bob-box Running", lambda: "Running" in details.text, timeout=60)
    browser.find_element(By.CSS_SELECTOR, "button[data-action=Delete]").click()
    browser.switch_to.alert.accept()
    wait_title(browser, "Containers")
    wait_for(
        "bob-box to go",
        lambda: cloud.api(bob, "GET", "/v1/containers").json()["containers"] == [],
        timeout=60,
    )
    browser.find_element(By.ID, "logout").click()
    wait_title(browser, "Log in")
    assert cloud.api(token, "DELETE", f"/v1/containers/{secret}?force=true").status_code == 204
    gone = cloud.api(token, "DELETE", f"{volumes}/{secret_volume.json()['volume']['id']}")
    assert gone.status_code == 202, gone.text
