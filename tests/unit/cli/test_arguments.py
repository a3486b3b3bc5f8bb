"""What the command line's flags turn into, without a server."""

import argparse
import base64
import io
from pathlib import Path
from typing import Any

import pytest

from dockyard.cli import app, create_request, listing
from dockyard.cli.errors import UsageError


def parse(*argv: str) -> argparse.Namespace:
    return app.build_parser().parse_args(list(argv))


def body(*argv: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return create_request.build_body(parse("run", *argv), env or {})


def test_run_flags_map_to_the_zun_create_body() -> None:
    assert body(
        "-d", "-it", "--name", "web", "-e", "A=1", "-e", "HOME", "-l", "tier=front",
        "-p", "80", "-p", "53/udp", "--cpus", "0.5", "-m", "1g", "--net", "private",
        "-v", "data:/srv", "--restart", "on-failure:3", "-w", "/srv", "-h", "web-1",
        "--entrypoint", "/bin/sh", "busybox", "-c", "echo hi", env={"HOME": "/root"},
    ) == {
        "image": "busybox", "command": ["-c", "echo hi"], "name": "web",
        "environment": {"A": "1", "HOME": "/root"}, "labels": {"tier": "front"},
        "exposed_ports": {"80/tcp": {}, "53/udp": {}}, "cpu": 0.5, "memory": 1024,
        "nets": [{"network": "private"}], "mounts": [{"source": "data", "destination": "/srv"}],
        "restart_policy": {"Name": "on-failure", "MaximumRetryCount": "3"},
        "interactive": True, "tty": True, "workdir": "/srv", "hostname": "web-1",
        "entrypoint": ["/bin/sh"],
    }  # fmt: skip


def test_flags_after_the_image_belong_to_the_command() -> None:
    args = parse("run", "--rm", "busybox", "ls", "-l", "--name", "x")
    assert args.command == ["ls", "-l", "--name", "x"] and args.name is None and args.rm


def test_a_bare_run_sends_only_the_image() -> None:
    assert body("busybox") == {"image": "busybox"}


def test_a_local_file_volume_is_injected_as_base64(tmp_path: Path) -> None:
    source = tmp_path / "app.conf"
    source.write_bytes(b"key = value\n")
    mount = body("-v", f"{source}:/etc/app.conf:ro", "busybox")["mounts"][0]
    assert mount == {"type": "bind", "destination": "/etc/app.conf",
                     "source": base64.b64encode(b"key = value\n").decode()}  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "message"),
    [(("-p", "8080:80"), "cannot map host port 8080"), (("-p", "http"), "invalid port"),
     (("-p", "70000"), "invalid port"), (("--restart", "sometimes"), "invalid policy"),
     (("--restart", "always:3"), "only on-failure"), (("-m", "12"), "write 12m"),
     (("-v", "data"), "SOURCE:/DESTINATION"), (("-v", "/no/such/file:/x"), "not a file"),
     (("-e", "=x"), "invalid environment")],
)  # fmt: skip
def test_untranslatable_flags_are_usage_errors(flags: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        body(*flags, "busybox")
    assert caught.value.exit_code == 125


def test_equal_host_and_container_ports_are_accepted() -> None:
    assert body("-p", "127.0.0.1:80:80/udp", "busybox")["exposed_ports"] == {"80/udp": {}}


def test_misuse_exits_125_and_names_the_command() -> None:
    err = io.StringIO()
    assert app.main(["ps", "--bogus"], env={}, out=io.StringIO(), err=err) == 125
    assert "dockyard ps: unrecognized arguments: --bogus" in err.getvalue()
    assert "See 'dockyard ps --help'." in err.getvalue()


def test_no_login_is_reported_before_any_request(tmp_path: Path) -> None:
    err = io.StringIO()
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert app.main(["ps"], env=env, out=io.StringIO(), err=err) == 1
    assert err.getvalue().startswith("Error: not logged in: run `dockyard login")


def test_help_lists_up_with_the_client_verbs() -> None:
    out = io.StringIO()
    assert app.main([], env={}, out=out, err=io.StringIO()) == 0
    assert "    up  " in out.getvalue() and "    run  " in out.getvalue()


def record(status: str, name: str = "web", **extra: Any) -> dict[str, Any]:
    return {"uuid": "5e1f0c2a-8d7b-4c55-9a61-0d3f2b7c9e10", "name": name, "status": status,
            "image": "busybox:1.36", "labels": {"tier": "front"}, **extra}  # fmt: skip


def test_ps_shows_running_containers_unless_all_or_a_status_filter() -> None:
    running, stopped = record("Running"), record("Stopped", "old")
    assert [c for c in (running, stopped) if listing.row_filter([], False)(c)] == [running]
    assert listing.row_filter([], True)(stopped)
    assert listing.row_filter([], False)(record("Paused"))
    exited = listing.row_filter(["status=exited"], False)
    assert exited(stopped) and not exited(running)


@pytest.mark.parametrize(
    ("filters", "kept"),
    [(["name=we"], True), (["name=db"], False), (["id=5e1f0c2a8d"], True),
     (["id=5e1f0c2a-8d"], True), (["id=ffff"], False), (["label=tier"], True),
     (["label=tier=front"], True), (["label=tier=back"], False), (["ancestor=busybox"], True),
     (["ancestor=busybox:1.36"], True), (["ancestor=alpine"], False),
     (["name=db", "name=web"], True), (["name=web", "label=x"], False)],
)  # fmt: skip
def test_ps_filters(filters: list[str], kept: bool) -> None:
    assert listing.row_filter(filters, True)(record("Running")) is kept


@pytest.mark.parametrize("bad", ["status=gone", "colour=red", "name"])
def test_unknown_filters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        listing.row_filter([bad], False)
