"""Image records on compute hosts: pulls, lookups, removals and searches (api-other §8)."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.repositories.images import ImageRepository
from dockyard.domain.errors import (
    DockyardError,
    ImageInUse,
    InvalidImage,
    InvalidInput,
    NotFound,
    ServiceBusy,
)
from dockyard.domain.image_records import ImageRecord, ImageStatus, canonical
from dockyard.domain.images import ImageRef, parse_image
from dockyard.domain.models import Host, RequestContext
from dockyard.domain.registries import RegistryAuth
from dockyard.rpc.api import ComputeAPI
from dockyard.rpc.messages import HostImages, ImageReport, PullImage
from dockyard.service.image_drivers import ImageDrivers
from dockyard.service.registries import RegistryService

#: A pull that has reported nothing for this long was lost with its agent.
STALE_PULL = dt.timedelta(minutes=5)


def reference_of(text: str, tag: str | None = None, field: str = "repo") -> ImageRef:
    """``text`` as an image reference with a tag; 400 ``invalid-value`` naming ``field``."""
    try:
        ref = parse_image(text)
    except InvalidImage as exc:
        raise InvalidInput(exc.detail.replace("image:", f"{field}:", 1), field=field) from None
    if ref.digest is not None:
        raise InvalidInput(
            f"{field}: {text!r} names a digest; image records are kept per tag, give a tag",
            field=field,
        )
    if tag is not None:
        if ref.tag is not None and ref.tag != tag:
            raise InvalidInput(
                f"tag: {tag!r} contradicts the tag {ref.tag!r} in repo {text!r}", field="tag"
            )
        try:
            ref = parse_image(f"{ref.repository}:{tag}")
        except InvalidImage:
            raise InvalidInput(f"tag: {tag!r} is not a valid tag", field="tag") from None
    return ref


def _visible_project(ctx: RequestContext) -> str | None:
    """Admins see every host's images (api-other §17.3); others their project's."""
    return None if ctx.is_admin else ctx.project_id


class ImageService:
    def __init__(
        self,
        images: ImageRepository,
        hosts: HostRepository,
        containers: ContainerRepository,
        compute: ComputeAPI,
        registries: RegistryService,
        max_limit: int,
        image_drivers: ImageDrivers | None = None,
    ) -> None:
        self.image_drivers = image_drivers or ImageDrivers()
        self.images = images
        self.hosts = hosts
        self.containers = containers
        self.compute = compute
        self.registries = registries
        self.max_limit = max_limit

    def limit(self, requested: int | None) -> int:
        return min(requested or self.max_limit, self.max_limit)

    # -- reads ----------------------------------------------------------------

    def get(self, ctx: RequestContext, uuid: str) -> ImageRecord:
        return self.images.get(uuid, _visible_project(ctx))

    def page(
        self,
        ctx: RequestContext,
        limit: int | None,
        marker: str | None,
        sort_key: str,
        sort_dir: str,
    ) -> list[ImageRecord]:
        return self.images.page(
            _visible_project(ctx), self.limit(limit), marker, sort_key, sort_dir
        )

    # -- pull -----------------------------------------------------------------

    def pull(self, ctx: RequestContext, fields: Mapping[str, Any]) -> ImageRecord:
        """Record the pull and send it to the host; nothing stays when it cannot be sent."""
        ref = reference_of(str(fields["repo"]), fields.get("tag"))
        host = self._host(str(fields["host"]))
        repo, tag = canonical(ref.repository, ref.tag)
        auth = self._auth(ctx, ref)
        record = self.images.create(
            ImageRecord(
                uuid=str(uuidlib.uuid4()),
                repo=repo,
                tag=tag,
                host=host.name,
                project_id=ctx.project_id,
                user_id=ctx.user_id,
            )
        )
        try:
            self.compute.pull_image(host.name, PullImage(record.uuid, repo, tag, auth))
        except DockyardError:
            self.images.delete(record.uuid)
            raise
        return record

    def _host(self, ident: str) -> Host:
        host = self.hosts.find(ident)
        if host is None:
            raise InvalidInput(f"host: compute host {ident} does not exist.", field="host")
        if not host.up:
            raise ServiceBusy(f"Host {host.name} is down; its agent cannot pull now.")
        return host

    def _auth(self, ctx: RequestContext, ref: ImageRef) -> RegistryAuth | None:
        """The credentials of the caller's own registry for the image's domain, if any."""
        if ref.domain is None:
            return None
        found = self.registries.page(ctx, {"domain": ref.domain}, 1, None, "id", "asc")
        return self.registries.auth(found[0]) if found else None

    # -- delete ---------------------------------------------------------------

    def delete(self, ctx: RequestContext, uuid: str) -> None:
        """Remove the image from its host, then the record; 409 while it is pulling or a
        container on that host uses it."""
        record = self.get(ctx, uuid)
        if record.status == ImageStatus.PULLING:
            raise ImageInUse(
                f"Image {record.reference} is being pulled on host {record.host}; "
                "delete it once the pull has ended.",
                image=record.uuid,
            )
        users = [c.uuid for c in self.containers.on_host(record.host) if _uses(c.image, record)]
        if users:
            raise ImageInUse(
                f"Image {record.reference} is used by {len(users)} container(s) on host "
                f"{record.host} ({', '.join(users[:3])}); delete them first.",
                image=record.uuid,
            )
        if record.status == ImageStatus.READY:
            # Gone from the engine already: only the record is left to remove.
            with contextlib.suppress(NotFound):
                self.compute.remove_image(record.host, record.reference)
        self.images.delete(record.uuid)

    # -- search ---------------------------------------------------------------

    def search(
        self, ctx: RequestContext, term: str, exact: bool, driver: str | None = None
    ) -> list[dict[str, Any]]:
        if self.image_drivers.choose(driver) == "glance":
            return self.image_drivers.search_glance(term, exact)
        ref = reference_of(term, field="image")
        host = next((h for h in self.hosts.services() if h.up), None)
        if host is None:
            raise ServiceBusy("No compute host is up to search a registry from.")
        return self.compute.search_images(host.name, term, exact, self._auth(ctx, ref))


class ImageRecordKeeper:
    """Applies what agents report of their images (the conductor's side)."""

    def __init__(self, images: ImageRepository, containers: ContainerRepository) -> None:
        self.images = images
        self.containers = containers

    def report(self, message: ImageReport) -> bool:
        return self.images.report(
            message.uuid,
            message.status,
            progress=message.progress,
            image_id=message.image_id,
            size=message.size,
            reason=message.reason,
        )

    def sync(self, message: HostImages) -> None:
        owners: dict[str, tuple[str, str]] = {}
        for container in self.containers.on_host(message.host):
            try:
                ref = parse_image(container.image)
            except InvalidImage:
                continue
            repo, tag = canonical(ref.repository, ref.tag)
            owners.setdefault(f"{repo}:{tag}", (container.project_id, container.user_id))
        self.images.sync(
            message.host,
            list(message.images),
            owners,
            STALE_PULL,
            message.uses,
            listed_at=message.listed_at,
        )

    def on_host(self, host: str) -> list[ImageRecord]:
        return self.images.on_host(host)


def _uses(image: str, record: ImageRecord) -> bool:
    try:
        ref = parse_image(image)
    except InvalidImage:
        return False
    return canonical(ref.repository, ref.tag) == (record.repo, record.tag)
