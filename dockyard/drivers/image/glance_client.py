"""Glance's image API v2, as a service user reaches it through keystoneauth.

Only what the Glance image driver needs: find an image by id or name, list docker
images, stream an image's data to a file and a file to an image.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from dockyard.domain.errors import DriverError, InvalidImage, InvalidInput, NotFound
from dockyard.domain.glance_settings import GlanceConfig

LOG = logging.getLogger(__name__)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
CHUNK = 1024 * 1024


class GlanceUnreachable(DriverError):
    """Glance (or the Keystone in front of it) could not be talked to: the caller is
    told so (502), as nothing they can change would help."""

    public = True


@dataclass(frozen=True)
class GlanceImage:
    id: str
    name: str
    status: str
    container_format: str | None
    disk_format: str | None
    size: int | None
    checksum: str | None
    hash_algo: str | None
    hash_value: str | None
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, body: dict[str, Any]) -> GlanceImage:
        return cls(
            id=str(body["id"]),
            name=str(body.get("name") or ""),
            status=str(body.get("status") or ""),
            container_format=body.get("container_format"),
            disk_format=body.get("disk_format"),
            size=body.get("size"),
            checksum=body.get("checksum"),
            hash_algo=body.get("os_hash_algo"),
            hash_value=body.get("os_hash_value"),
            tags=tuple(str(t) for t in body.get("tags") or ()),
        )

    def search_item(self) -> dict[str, Any]:
        """The item an image search shows (zunclient prints id, name, tags, status, size)."""
        return {
            "id": self.id,
            "name": self.name,
            "tags": list(self.tags),
            "status": self.status,
            "size": self.size,
            "container_format": self.container_format,
            "disk_format": self.disk_format,
            "metadata": {},
        }


class GlanceClient:
    """One keystoneauth session to Glance, with the service user's credentials."""

    def __init__(self, conf: GlanceConfig) -> None:
        self.conf = conf
        auth = None
        if conf.auth_url:
            auth = v3.Password(
                auth_url=conf.auth_url,
                username=conf.username,
                password=conf.password,
                project_name=conf.project_name,
                user_domain_name=conf.user_domain_name,
                project_domain_name=conf.project_domain_name,
            )
        self.session = ks_session.Session(auth=auth, timeout=conf.timeout)
        self.where = conf.api_servers[0] if conf.api_servers else "the catalog's image endpoint"

    def _endpoint(self) -> dict[str, Any]:
        if self.conf.api_servers:
            return {"endpoint_override": self.conf.api_servers[0].rstrip("/")}
        return {
            "endpoint_filter": {
                "service_type": "image",
                "interface": self.conf.interface,
                "region_name": self.conf.region_name or None,
            }
        }

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.session.request(path, method, **self._endpoint(), **kwargs)
        except ks_exc.NotFound as exc:
            raise NotFound(f"Glance has no {path} ({exc.message})") from None
        except ks_exc.EndpointNotFound as exc:
            raise GlanceUnreachable(f"no Glance endpoint in the catalog ({exc})") from None
        except (ks_exc.ConnectFailure, ks_exc.ConnectionError, ks_exc.RequestTimeout) as exc:
            LOG.warning("Glance (%s) could not be reached: %s", self.where, exc)
            why = "timed out" if isinstance(exc, ks_exc.RequestTimeout) else "connection failed"
            raise GlanceUnreachable(f"Glance ({self.where}) could not be reached ({why})") from None
        except ks_exc.Unauthorized as exc:
            raise GlanceUnreachable(
                f"Glance's Keystone refused the service user ({exc}); check [glance] username "
                "and password"
            ) from None
        except ks_exc.ClientException as exc:
            raise DriverError(f"Glance refused {method} {path}: {exc}") from None

    # -- reading -------------------------------------------------------------

    def get(self, image_id: str) -> GlanceImage:
        return GlanceImage.of(self._request("GET", f"/v2/images/{image_id}").json())

    def named(self, name: str) -> list[GlanceImage]:
        found = self._request("GET", "/v2/images", params={"name": name, "limit": 100}).json()
        return [GlanceImage.of(body) for body in found.get("images") or ()]

    def find(self, name_or_id: str) -> GlanceImage:
        """The image with that id, else the one image with that name.

        ``InvalidImage`` (400) when none or several match, naming what to give instead.
        """
        if _UUID.match(name_or_id):
            try:
                return self.get(name_or_id)
            except NotFound:
                pass
        found = self.named(name_or_id)
        if not found:
            raise InvalidImage(
                f"image '{name_or_id}' was not found in Glance (no image has that id or name)",
                field="image",
            )
        if len(found) > 1:
            ids = ", ".join(sorted(image.id for image in found))
            raise InvalidImage(
                f"several Glance images are named '{name_or_id}' ({ids}); give the id instead",
                field="image",
            )
        return found[0]

    def docker_images(self) -> Iterator[GlanceImage]:
        """Every image whose container_format is docker, page by page."""
        path: str | None = "/v2/images?container_format=docker&limit=200"
        while path:
            page = self._request("GET", path).json()
            yield from (GlanceImage.of(body) for body in page.get("images") or ())
            path = page.get("next")

    def download(self, image_id: str, sink: IO[bytes], seen: Callable[[bytes], None]) -> None:
        """Write the image's data to ``sink`` chunk by chunk, each chunk shown to ``seen``."""
        answer = self._request("GET", f"/v2/images/{image_id}/file", stream=True)
        try:
            for chunk in answer.iter_content(CHUNK):
                sink.write(chunk)
                seen(chunk)
        except OSError as exc:
            raise DriverError(f"could not store Glance image {image_id}: {exc}") from None
        except Exception as exc:
            raise GlanceUnreachable(
                f"the download of Glance image {image_id} broke: {exc}"
            ) from None
        finally:
            answer.close()

    # -- writing -------------------------------------------------------------

    def reserve(self, name: str, tags: tuple[str, ...]) -> GlanceImage:
        body = {
            "name": name,
            "container_format": "docker",
            "disk_format": "raw",
            "tags": list(tags),
        }
        return GlanceImage.of(self._request("POST", "/v2/images", json=body).json())

    def upload(self, image_id: str, source: IO[bytes], size: int) -> None:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        self._request("PUT", f"/v2/images/{image_id}/file", data=source, headers=headers)

    def delete(self, image_id: str) -> None:
        self._request("DELETE", f"/v2/images/{image_id}")


def check_docker(image: GlanceImage, asked: str) -> None:
    """400 unless ``image`` holds a docker tarball that can be downloaded now."""
    if image.container_format != "docker":
        raise InvalidInput(
            f"Glance image '{asked}' ({image.id}) has container_format "
            f"'{image.container_format}', not 'docker': it is not a container image",
            field="image",
        )
    if image.status != "active":
        raise InvalidImage(
            f"Glance image '{asked}' ({image.id}) is {image.status or 'not active'}, not active: "
            "it has no data to download yet",
            field="image",
        )


def search_glance(glance: GlanceClient, term: str, exact: bool) -> list[dict[str, Any]]:
    """Glance's docker images whose name holds ``term`` (equals it, if ``exact``), or the one
    whose id it is; ``name:tag`` keeps those tagged ``tag``."""
    if not term:
        raise InvalidInput("Give part of an image's name to search for.", field="image")
    name, _, tag = term.partition(":")
    items = []
    for image in glance.docker_images():
        if image.id == term:
            return [image.search_item()]
        if (image.name == name if exact else name in image.name) and (not tag or tag in image.tags):
            items.append(image.search_item())
    return items
