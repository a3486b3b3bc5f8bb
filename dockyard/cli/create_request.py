"""``docker run``/``docker create`` flags turned into a Zun create body (spec §8.1)."""

from __future__ import annotations

import argparse
import base64
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.cli import units
from dockyard.cli.errors import UsageError

RESTART_NAMES = ("no", "always", "on-failure", "unless-stopped")
_PORT = re.compile(r"^(?P<port>\d{1,5})(?:/(?P<proto>tcp|udp))?$")


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The flags ``run`` and ``create`` share."""
    add = parser.add_argument
    add("--name", help="Assign a name to the container")
    add("-e", "--env", action="append", default=[], metavar="KEY[=VALUE]",
        help="Set an environment variable (KEY alone takes its value from here)")  # fmt: skip
    add("-l", "--label", action="append", default=[], metavar="KEY=VALUE", help="Set a label")
    add("-p", "--publish", action="append", default=[], metavar="PORT[/PROTO]",
        help="Expose a container port on its network address (Zun's exposed_ports; "
        "Zun has no host port mapping, so HOST:PORT is refused unless both are equal)")  # fmt: skip
    add("--cpus", type=float, help="Number of CPUs (e.g. 0.5)")
    add(
        "-m", "--memory", help="Memory limit with Docker's units: 64m, 1g (a plain number is bytes)"
    )
    add("--net", "--network", dest="networks", action="append", default=[], metavar="NETWORK",
        help="Connect to a network (name or id; may repeat)")  # fmt: skip
    add("-v", "--volume", dest="volumes", action="append", default=[], metavar="SRC:DEST",
        help="Mount a volume (NAME:DEST), or inject a local file (/PATH/FILE:DEST)")  # fmt: skip
    add("--rm", action="store_true", help="Remove the container when it exits")
    add("--restart", metavar="POLICY",
        help="Restart policy: no, always, on-failure[:MAX_RETRIES], unless-stopped")  # fmt: skip
    add("-i", "--interactive", action="store_true",
        help="Keep STDIN open (input goes through the console, which cannot pass on "
        "the end of a piped input: use it with a terminal)")  # fmt: skip
    add("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    add("-w", "--workdir", help="Working directory inside the container")
    add("-h", "--hostname", help="Container host name")
    add("--entrypoint", help="Overwrite the image's entrypoint")
    add("--runtime", help="OCI runtime (admin only by default)")
    add("--privileged", action="store_true", help="Give extended privileges (policy decides)")
    add("image", metavar="IMAGE", help="Image reference")
    add("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]",
        help="Command and arguments to run")  # fmt: skip


def build_body(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    """The create body; UsageError names the flag when a value cannot be translated."""
    body: dict[str, Any] = {"image": args.image}
    if args.command:
        body["command"] = list(args.command)
    if args.name:
        body["name"] = args.name
    if args.env:
        body["environment"] = dict(_env_pair(item, env) for item in args.env)
    if args.label:
        body["labels"] = dict(_key_value(item, "--label") for item in args.label)
    if args.publish:
        body["exposed_ports"] = {_port(item): {} for item in args.publish}
    if args.cpus is not None:
        body["cpu"] = args.cpus
    if args.memory is not None:
        try:
            body["memory"] = units.memory_mib(args.memory)
        except ValueError as exc:
            raise UsageError(f"-m: {exc}") from exc
    if args.networks:
        body["nets"] = [{"network": name} for name in args.networks]
    if args.volumes:
        body["mounts"] = [_mount(item) for item in args.volumes]
    if args.restart:
        body["restart_policy"] = restart_policy(args.restart)
    if args.interactive or args.tty:
        body["interactive"] = bool(args.interactive)
        body["tty"] = bool(args.tty)
    for flag in ("workdir", "hostname", "runtime"):
        if getattr(args, flag):
            body[flag] = getattr(args, flag)
    if args.entrypoint is not None:
        body["entrypoint"] = [args.entrypoint] if args.entrypoint else []
    if args.privileged:
        body["privileged"] = True
    return body


def restart_policy(text: str) -> dict[str, str]:
    name, _, count = text.partition(":")
    if name not in RESTART_NAMES:
        raise UsageError(f"--restart: invalid policy {name!r} (one of {', '.join(RESTART_NAMES)})")
    if count and (name != "on-failure" or not count.isdigit()):
        raise UsageError("--restart: only on-failure takes a retry count, as on-failure:3")
    return {"Name": name, "MaximumRetryCount": count or "0"}


def _env_pair(item: str, env: Mapping[str, str]) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not key:
        raise UsageError(f"-e: invalid environment variable {item!r}")
    return key, value if sep else env.get(key, "")


def _key_value(item: str, flag: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    if not key:
        raise UsageError(f"{flag}: invalid {item!r}, expected KEY=VALUE")
    return key, value


def _port(item: str) -> str:
    spec = item
    if ":" in item:
        parts = item.split(":")
        host_port, spec = parts[-2], parts[-1]
        if host_port.split("-")[0] != spec.split("/")[0]:
            raise UsageError(
                f"-p {item}: Zun exposes ports on the container's own address and cannot map "
                f"host port {host_port} to another port; use -p {spec}"
            )
    match = _PORT.match(spec)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise UsageError(f"-p: invalid port {item!r}, expected PORT or PORT/tcp|udp")
    return f"{int(match['port'])}/{match['proto'] or 'tcp'}"


def _mount(item: str) -> dict[str, str]:
    """``NAME:DEST`` mounts a volume; an absolute local file is injected (Zun's bind type)."""
    source, sep, rest = item.partition(":")
    destination = rest.split(":")[0]
    if not sep or not source or not destination.startswith("/"):
        raise UsageError(f"-v: invalid {item!r}, expected SOURCE:/DESTINATION")
    if source.startswith(("/", ".")):
        local = Path(source)
        if not local.is_file():
            raise UsageError(f"-v {item}: Zun injects single files only; {source} is not a file")
        content = base64.b64encode(local.read_bytes()).decode()
        return {"type": "bind", "source": content, "destination": destination}
    return {"source": source, "destination": destination}
