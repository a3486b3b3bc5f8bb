"""WSGI app for ``/volume``: the block-storage v3 subset the OpenStack volume commands use.

Mounted beside the Zun routes behind the same authentication. Routes are
project-scoped as Cinder's are (``/volume/v3/{project_id}/volumes...``); a
project id that is not the caller's is refused as Cinder refuses it (400,
"Malformed request url"), and another project's volume is absent (404). Errors
use Cinder's body: ``{"<fault>": {"code", "message"}}`` with the fault named by
the status (``badRequest``, ``itemNotFound``, ``conflictingRequest``, ...).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from dockyard.api.auth import Authenticator
from dockyard.api.block_storage import microversion, parse, views
from dockyard.api.block_storage.views import PREFIX, VERSION_PATH
from dockyard.api.request import json_response
from dockyard.domain.errors import Conflict, DockyardError, Forbidden, InvalidInput, OverQuota
from dockyard.domain.errors import NotFound as NotFoundError
from dockyard.domain.models import RequestContext
from dockyard.domain.volumes import Volume
from dockyard.drivers.volume.base import VolumeDriver
from dockyard.service.quotas import QuotaService

LOG = logging.getLogger(__name__)

#: Cinder's fault name for each status.
FAULTS: Final = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}
_PROJECT: Final = f"{VERSION_PATH}/<project_id>"
#: (method, path, endpoint) of every route served; the OpenAPI document describes each.
ROUTES: Final = (
    ("GET", PREFIX, "versions"),
    ("GET", VERSION_PATH, "version"),
    ("GET", f"{_PROJECT}/volumes", "list"),
    ("POST", f"{_PROJECT}/volumes", "create"),
    ("GET", f"{_PROJECT}/volumes/detail", "detail"),
    ("GET", f"{_PROJECT}/volumes/<ident>", "show"),
    ("DELETE", f"{_PROJECT}/volumes/<ident>", "delete"),
    ("PUT", f"{_PROJECT}/volumes/<ident>", "update"),
    ("GET", f"{_PROJECT}/extensions", "extensions"),
    ("GET", f"{_PROJECT}/limits", "limits"),
)


def error_response(status: int, message: str) -> Response:
    """Cinder's fault body; a status without a name of its own (406, 500) is a
    ``computeFault``, and a 413 says when to retry."""
    fault: dict[str, Any] = {"code": status, "message": message}
    if status == 413:
        fault["retryAfter"] = "0"
    return json_response({FAULTS.get(status, "computeFault"): fault}, status=status)


class BlockStorageApp:
    """WSGI app for ``/volume`` (PATH_INFO keeps the prefix)."""

    def __init__(
        self,
        volumes: VolumeDriver,
        quotas: QuotaService,
        auth: Authenticator,
        zone: str,
        reader_only: Callable[[RequestContext], bool] = lambda ctx: False,
    ) -> None:
        self.volumes = volumes
        self.quotas = quotas
        self.auth = auth
        self.zone = zone
        self.reader_only = reader_only
        self.url_map = Map(
            [Rule(path, endpoint=endpoint, methods=[method]) for method, path, endpoint in ROUTES],
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        http = Request(environ)
        request_id = f"req-{uuid.uuid4()}"
        version = microversion.MIN_VERSION
        try:
            path = http.path.rstrip("/") or "/"
            endpoint, args = self.url_map.bind_to_environ(environ).match(path, method=http.method)
            if endpoint == "versions":  # discovery, before any version is chosen
                response = self._versions(http, 300)
            elif endpoint == "version":
                response = self._versions(http, 200)
            else:
                version = microversion.requested(http.headers.get(microversion.HEADER))
                ctx = self.auth.authenticate(dict(http.headers), request_id)
                response = self._dispatch(http, ctx, endpoint, args)
        except DockyardError as exc:
            response = self._error(exc)
        except MethodNotAllowed as exc:
            response = error_response(405, "The method is not allowed for this resource.")
            response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        except NotFound:
            response = error_response(404, "The resource could not be found.")
        except HTTPException as exc:
            response = error_response(exc.code or 500, str(exc.description))
        except Exception:
            LOG.exception("volume request %s %s failed (%s)", http.method, http.path, request_id)
            response = error_response(
                500, "The server has either erred or is incapable of performing the requested "
                f"operation ({request_id})."
            )  # fmt: skip
        value = f"{microversion.SERVICE} {microversion.text(version)}"
        response.headers[microversion.HEADER] = value
        response.headers["Vary"] = microversion.HEADER
        response.headers["X-OpenStack-Request-Id"] = request_id
        return response(environ, start_response)

    @staticmethod
    def _error(exc: DockyardError) -> Response:
        if exc.status >= 500 and not exc.public:
            LOG.error("volume request failed: %s", exc)
            return error_response(
                exc.status, "The server has either erred or is incapable of performing the "
                "requested operation."
            )  # fmt: skip
        if isinstance(exc, OverQuota):  # Cinder answers a passed quota with 413
            return error_response(413, f"VolumeSizeExceedsAvailableQuota: {exc.detail}")
        return error_response(exc.status, exc.detail)

    @staticmethod
    def _versions(http: Request, status: int) -> Response:
        body = {"versions": [views.v3_version(http.host_url.rstrip("/"))]}
        return json_response(body, status=status)

    def _dispatch(
        self, http: Request, ctx: RequestContext, endpoint: str, args: Mapping[str, Any]
    ) -> Response:
        if args["project_id"] != ctx.project_id:
            raise InvalidInput("Malformed request url")
        if http.method != "GET" and not ctx.is_admin and self.reader_only(ctx):
            raise Forbidden("A reader of the project may not change its volumes.")
        host_url = http.host_url.rstrip("/")
        if endpoint in ("list", "detail"):
            return self._list(http, ctx, detailed=endpoint == "detail")
        if endpoint == "show":
            volume = self._own(ctx, args["ident"])
            return json_response({"volume": self._detail(ctx, volume, host_url)})
        if endpoint == "create":
            request = parse.create(http.get_data())
            volume = self.volumes.create_available(
                ctx.project_id, request.size, request.name, request.description
            )
            return json_response({"volume": self._detail(ctx, volume, host_url)}, status=202)
        if endpoint == "delete":
            parse.delete_query({k: http.args.getlist(k) for k in http.args})
            volume = self._own(ctx, args["ident"])
            self.volumes.discard(volume.project_id, volume.id)
            return Response(status=202)
        if endpoint == "update":
            volume = self._own(ctx, args["ident"])
            change = parse.update(http.get_data())
            volume = self.volumes.describe(
                volume.id,
                volume.name if change.name is None else change.name,
                volume.description if change.description is None else change.description,
            )
            return json_response({"volume": self._detail(ctx, volume, host_url)})
        if endpoint == "extensions":
            return json_response({"extensions": []})
        usage = self.quotas.usages(ctx.project_id)["disk"]
        count = len(self.volumes.list_volumes(ctx.project_id))
        return json_response(
            views.absolute_limits(int(usage["limit"]), int(usage["in_use"]), count)
        )

    def _own(self, ctx: RequestContext, ident: str) -> Volume:
        """The caller's volume by id (Cinder's paths take ids; names are found by listing);
        an admin's, any project's, as in Cinder."""
        volume: Volume | None = None
        # Conflict: a name several volumes share, so not an id either.
        with contextlib.suppress(NotFoundError, Conflict):
            volume = self.volumes.find(ctx.project_id, ident)
        if (volume is None or volume.id != ident) and ctx.is_admin:
            with contextlib.suppress(NotFoundError):
                volume = self.volumes.get(ident)
        if volume is None or volume.id != ident:
            raise NotFoundError(f"Volume {ident} could not be found.")
        return volume

    def _detail(self, ctx: RequestContext, volume: Volume, host_url: str) -> dict[str, Any]:
        return views.detail(volume, host_url, self.zone, ctx.is_admin)

    def _list(self, http: Request, ctx: RequestContext, detailed: bool) -> Response:
        query = parse.list_query({k: http.args.getlist(k) for k in http.args})
        everyone = query.all_tenants and ctx.is_admin  # Cinder ignores it for others
        volumes = list(
            self.volumes.list_all_volumes()
            if everyone
            else self.volumes.list_volumes(ctx.project_id)
        )
        if "project_id" in query.filters and not everyone:
            raise InvalidInput("Filtering by project_id needs all_tenants and an admin.")
        volumes = [v for v in volumes if _matches(v, query.filters)]
        volumes.sort(key=lambda v: v.id, reverse=True)
        for key, descending in reversed(query.sort or [("created_at", True)]):
            volumes.sort(key=functools.partial(_sort_value, key=key), reverse=descending)
        total = len(volumes)
        if query.marker is not None:
            ids = [v.id for v in volumes]
            if query.marker not in ids:
                raise NotFoundError(f"Marker {query.marker} could not be found.")
            volumes = volumes[ids.index(query.marker) + 1 :]
        volumes = volumes[query.offset :]
        host_url = http.host_url.rstrip("/")
        body: dict[str, Any] = {}
        # limit=0 is Cinder's "no limit given" (``limit or max_limit``), not an empty page.
        if query.limit and len(volumes) > query.limit:
            volumes = volumes[: query.limit]
            args = {k: v for k, v in http.args.items() if k != "marker"}
            args["marker"] = volumes[-1].id
            link = "&".join(f"{k}={v}" for k, v in args.items())
            body["volumes_links"] = [{"rel": "next", "href": f"{http.base_url}?{link}"}]
        if detailed:
            body["volumes"] = [self._detail(ctx, v, host_url) for v in volumes]
        else:
            body["volumes"] = [views.summary(v, host_url) for v in volumes]
        if query.with_count:
            body["count"] = total
        return json_response(body)


def _sort_value(volume: Volume, key: str) -> Any:
    if key == "size":
        return volume.size_gib
    if key in ("created_at", "updated_at"):
        moment = getattr(volume, key)
        return (moment is not None, moment.isoformat() if moment else "")
    return str(getattr(volume, key))


def _matches(volume: Volume, filters: Mapping[str, str]) -> bool:
    values = {"name": volume.name, "status": volume.status.value, "project_id": volume.project_id}
    return all(values[k] == v for k, v in filters.items())
