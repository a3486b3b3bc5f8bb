"""Lifecycle actions, logs, exec, rename and the action log of one container."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes.access import owned
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas import actions as schemas
from dockyard.api.schemas import containers as container_schemas
from dockyard.api.schemas.validation import parse_bool, validate
from dockyard.api.versions import Version
from dockyard.api.views import containers as views
from dockyard.domain.errors import Base64Exception, InvalidInput, InvalidRequest
from dockyard.domain.models import LogOptions

TABLE = RouteTable()
ROUTES = TABLE.routes
BASE = "/v1/containers/<ident>"
#: From this microversion archive data travels base64-encoded.
_BASE64_ARCHIVES: Version = (1, 25)


def _accepted() -> Response:
    return json_response(None, 202)


def _simple(action: str) -> None:
    def handler(req: ApiRequest, ident: str) -> Response:
        uuid = owned(req, ident, f"container:{action}").uuid
        req.services.containers.act(req.ctx, uuid, action)
        return _accepted()

    TABLE.add("POST", f"{BASE}/{action}")(handler)


for _action in ("start", "pause", "unpause"):
    _simple(_action)


def _timed(action: str) -> None:
    def handler(req: ApiRequest, ident: str) -> Response:
        query = req.query()
        validate(schemas.stop_query(), query, where="query")
        uuid = owned(req, ident, f"container:{action}").uuid
        timeout = int(query["timeout"]) if query.get("timeout") not in (None, "") else None
        req.services.containers.act(req.ctx, uuid, action, timeout=timeout)
        return _accepted()

    TABLE.add("POST", f"{BASE}/{action}")(handler)


for _action in ("stop", "reboot"):
    _timed(_action)


@TABLE.add("POST", f"{BASE}/kill")
def kill(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    validate(schemas.kill_body(), args)
    uuid = owned(req, ident, "container:kill").uuid
    signal = args.get("signal")
    req.services.containers.act(
        req.ctx, uuid, "kill", signal=None if signal in (None, "None") else signal
    )
    return _accepted()


def _since(value: Any) -> dt.datetime | int | None:
    if value in (None, "", "None"):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return dt.datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise InvalidInput(f"since: {text!r} is neither epoch seconds nor a timestamp.") from exc


@TABLE.add("GET", f"{BASE}/logs")
def logs(req: ApiRequest, ident: str) -> Response:
    query = req.query()
    validate(schemas.logs_query(), query, where="query")
    uuid = owned(req, ident, "container:logs").uuid
    tail = str(query.get("tail", "all"))
    options = LogOptions(
        stdout=parse_bool(query.get("stdout", True)),
        stderr=parse_bool(query.get("stderr", True)),
        timestamps=parse_bool(query.get("timestamps", False)),
        tail=int(tail) if tail.isdigit() else None,
        since=_since(query.get("since")),
    )
    return json_response(req.services.containers.logs(req.ctx, uuid, options))


@TABLE.add("POST", f"{BASE}/execute")
def execute(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    validate(schemas.execute_query(), args)
    uuid = owned(req, ident, "container:execute").uuid
    if not parse_bool(args.get("run", True)):
        # A session the client runs through the console proxy (interactive: with a TTY).
        tty = parse_bool(args.get("interactive", False))
        exec_id, url = req.services.consoles.exec_session(req.ctx, uuid, args["command"], tty)
        return json_response(
            {"output": None, "exit_code": None, "exec_id": exec_id, "proxy_url": url}
        )
    result = req.services.containers.execute(req.ctx, uuid, args["command"])
    return json_response(
        {"output": result.output, "exit_code": result.exit_code, "exec_id": None, "proxy_url": None}
    )


@TABLE.add("POST", f"{BASE}/rename", max_version=(1, 13))
def rename(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    validate(schemas.rename_query(), args)
    uuid = owned(req, ident, "container:rename").uuid
    container = req.services.containers.rename(req.ctx, uuid, args["name"])
    now = req.services.clock.now()
    return json_response(views.container(container, req.hidden_fields, req.base_url, now))


@TABLE.add("GET", f"{BASE}/container_actions")
def action_list(req: ApiRequest, ident: str) -> Response:
    req.authorize("container:actions")
    found = req.services.containers.action_list(req.ctx, ident)
    return json_response({"containerActions": [views.action(a) for a in found]})


@TABLE.add("GET", f"{BASE}/container_actions/<request_id>")
def action_show(req: ApiRequest, ident: str, request_id: str) -> Response:
    req.authorize("container:actions")
    action, events = req.services.containers.action_show(req.ctx, ident, request_id)
    tracebacks = req.allows("container:action:events")
    body = views.action(action)
    body["events"] = [views.event(e, tracebacks) for e in events]
    return json_response(body)


def _text(args: Mapping[str, Any], key: str) -> str | None:
    """A free-form parameter: absent, null, "" and "None" mean unset; a non-string is a 400."""
    value = args.get(key)
    if value in (None, "", "None"):
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: expected one string, got {value!r}.", field=key)
    return value


@TABLE.add("POST", f"{BASE}/rebuild")
def rebuild(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    uuid = owned(req, ident, "container:rebuild").uuid
    image, driver = _text(args, "image"), _text(args, "image_driver")
    req.services.containers.rebuild(req.ctx, uuid, image, driver)
    return _accepted()


@TABLE.add("POST", f"{BASE}/resize_container", min_version=(1, 19))
def resize_container(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    validate(container_schemas.update_body(req.services.limits), args)
    uuid = owned(req, ident, "container:resize_container").uuid
    before = req.services.containers.resize(req.ctx, uuid, args)
    now = req.services.clock.now()
    return json_response(views.container(before, req.hidden_fields, req.base_url, now), 202)


@TABLE.add("GET", f"{BASE}/top")
def top(req: ApiRequest, ident: str) -> Response:
    query = req.query()
    validate(schemas.top_query(), query, where="query")
    uuid = owned(req, ident, "container:top").uuid
    table = req.services.containers.top(req.ctx, uuid, _text(query, "ps_args"))
    return json_response(views.processes(table))


@TABLE.add("GET", f"{BASE}/stats")
def stats(req: ApiRequest, ident: str) -> Response:
    uuid = owned(req, ident, "container:stats").uuid
    return json_response(views.stats(req.services.containers.stats(req.ctx, uuid)))


def _archive_path(args: Mapping[str, Any]) -> str:
    path = _text(args, "path")
    if path is None:
        raise InvalidRequest("path: the path inside the container is required.", field="path")
    return path


def _tar_bytes(value: Any, version: Version) -> bytes:
    if not isinstance(value, str):
        raise InvalidInput("data: the tar archive is required, as a string.", field="data")
    if version >= _BASE64_ARCHIVES:
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as exc:  # binascii.Error, or a str that is not ASCII
            raise Base64Exception(f"data: not valid base64 ({exc}).", field="data") from exc
    # Before 1.25 the tar bytes travel as a string: as the characters of the same codes
    # (latin-1, what we send), or as UTF-8 text from clients that decoded them so.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


@TABLE.add("GET", f"{BASE}/get_archive")
def get_archive(req: ApiRequest, ident: str) -> Response:
    path = _archive_path(req.query())
    uuid = owned(req, ident, "container:get_archive").uuid
    found = req.services.containers.get_archive(req.ctx, uuid, path)
    return json_response(views.archive(found, base64_data=req.version >= _BASE64_ARCHIVES))


@TABLE.add("POST", f"{BASE}/put_archive")
def put_archive(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    path = _archive_path(args)
    data = _tar_bytes(args.get("data"), req.version)
    uuid = owned(req, ident, "container:put_archive").uuid
    req.services.containers.put_archive(req.ctx, uuid, path, data)
    return json_response(None)


@TABLE.add("POST", f"{BASE}/commit")
def commit(req: ApiRequest, ident: str) -> Response:
    query = req.query()
    validate(schemas.commit_query(), query, where="query")
    uuid = owned(req, ident, "container:commit").uuid
    repository, tag = query["repository"], query.get("tag") or "latest"
    image_id = req.services.containers.commit(req.ctx, uuid, repository, tag)
    return json_response({"uuid": image_id}, 202)


def _size(query: Mapping[str, Any]) -> tuple[int, int]:
    """The (height, width) of a TTY resize; both are needed."""
    missing = [key for key in ("h", "w") if query.get(key) in (None, "")]
    if missing:
        raise InvalidInput(f"{' and '.join(missing)}: required to resize a TTY.")
    return int(query["h"]), int(query["w"])


@TABLE.add("POST", f"{BASE}/execute_resize")
def execute_resize(req: ApiRequest, ident: str) -> Response:
    query = req.merged()
    validate(schemas.execute_resize_query(), query)
    height, width = _size(query)
    uuid = owned(req, ident, "container:execute_resize").uuid
    req.services.consoles.exec_resize(req.ctx, uuid, str(query["exec_id"]), height, width)
    return json_response(None)


@TABLE.add("GET", f"{BASE}/attach")
def attach(req: ApiRequest, ident: str) -> Response:
    uuid = owned(req, ident, "container:attach").uuid
    return json_response(req.services.consoles.attach(req.ctx, uuid))


@TABLE.add("POST", f"{BASE}/resize")
def resize_tty(req: ApiRequest, ident: str) -> Response:
    query = req.merged()
    validate(schemas.resize_query(), query)
    height, width = _size(query)
    uuid = owned(req, ident, "container:resize").uuid
    req.services.consoles.resize_tty(req.ctx, uuid, height, width)
    return json_response(None)


def _security_group(action: str, verb: str) -> None:
    def handler(req: ApiRequest, ident: str) -> Response:
        args = req.merged()
        validate(schemas.security_group_args(), args)
        container = owned(req, ident, f"container:{action}")
        getattr(req.services.container_groups, verb)(req.ctx, container, args["name"])
        return _accepted()

    TABLE.add("POST", f"{BASE}/{action}", (1, 1), (1, 14))(handler)


_security_group("add_security_group", "add")
_security_group("remove_security_group", "remove")


@TABLE.add("GET", f"{BASE}/network_list", (1, 13))
def network_list(req: ApiRequest, ident: str) -> Response:
    # Zun checks no rule here; reading the container's addresses is reading the container.
    container = owned(req, ident, "container:get_one")
    return json_response({"networks": views.network_list(container, req.version)})


@TABLE.add("POST", f"{BASE}/network_attach", (1, 8))
def network_attach(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    validate(schemas.network_attach_args(), args)
    container = owned(req, ident, "container:network_attach")
    req.services.container_networks.attach(
        req.network_ctx(), container, args.get("network"), args.get("port"), args.get("fixed_ip")
    )
    # Zun answers 200 with no body (its API reference says 202).
    return json_response(None)


@TABLE.add("POST", f"{BASE}/network_detach", (1, 6))
def network_detach(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    validate(schemas.network_detach_args(), args)
    container = owned(req, ident, "container:network_detach")
    req.services.container_networks.detach(
        req.ctx, container, args.get("network"), args.get("port")
    )
    return _accepted()
