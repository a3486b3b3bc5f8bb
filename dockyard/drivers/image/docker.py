"""The Docker Engine implementation of the image interface."""

from __future__ import annotations

import os
from typing import IO, Any, NoReturn

import docker
import docker.errors

from dockyard.domain.errors import (
    DriverError,
    ImageInUse,
    InvalidImage,
    NotFound,
    RegistryAuthFailed,
    RegistryUnreachable,
)
from dockyard.domain.image_gc import StoreUsage
from dockyard.domain.image_records import LocalImage, canonical
from dockyard.domain.images import DEFAULT_DOMAIN, ImageRef, parse_image
from dockyard.domain.registries import RegistryAuth
from dockyard.drivers.docker_engine import engine_errors, explanation
from dockyard.drivers.image.base import ImageDriver, ProgressCallback
from dockyard.drivers.image.progress import PullStream
from dockyard.drivers.image.registry_search import search_registry

# Engine phrases for "the registry wants credentials, or other ones than those given".
_AUTH_HINTS = (
    "no basic auth credentials",
    "authentication required",
    "incorrect username or password",
)
# Engine phrases for "the registry answered, and has no such image (for us)".
_MISSING_HINTS = (
    "manifest unknown",
    "not found",
    "does not exist",
    "pull access denied",
    "access to the resource is denied",
    "unauthorized",
    "name unknown",
)
# Engine phrases for "the registry could not be talked to".
_UNREACHABLE_HINTS = (
    "dial tcp",
    "no such host",
    "connection refused",
    "i/o timeout",
    "timeout exceeded",
    "network is unreachable",
    "tls:",
    "x509:",
    "server gave http response to https client",
    "eof",
)
# Engine phrases for "the host has no room for the image".
_DISK_FULL_HINTS = ("no space left on device", "disk quota exceeded")


class DockerImages(ImageDriver):
    """Looks up and pulls images through one Docker Engine."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.api: Any = client.api

    def exists_locally(self, image: str) -> bool:
        with engine_errors():
            try:
                self.api.inspect_image(image)
            except docker.errors.NotFound:
                return False
        return True

    def check_remote(self, image: str, auth: RegistryAuth | None = None) -> None:
        ref = parse_image(image)
        with engine_errors():
            try:
                self.api.inspect_distribution(image, auth_config=_engine_auth(auth))
            except docker.errors.APIError as exc:
                text = explanation(exc)
                if _is_auth_refused(text):
                    raise RegistryAuthFailed(
                        _auth_problem(image, ref, text, auth), field="image"
                    ) from None
                raise InvalidImage(_registry_problem(image, ref, exc), field="image") from exc

    def pull(
        self,
        image: str,
        auth: RegistryAuth | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        ref = parse_image(image)
        stream = PullStream()
        with engine_errors():
            try:
                for item in self.api.pull(
                    ref.repository,
                    tag=ref.digest or ref.tag or "latest",
                    stream=True,
                    decode=True,
                    auth_config=_engine_auth(auth),
                ):
                    if "error" in item:
                        _raise_pull_error(image, ref, str(item["error"]), auth)
                    if progress is not None and stream.feed(item):
                        progress(stream.progress())
            except docker.errors.APIError as exc:
                _raise_pull_error(image, ref, explanation(exc), auth, exc)

    def local_images(self) -> list[LocalImage]:
        with engine_errors():
            listed = self.api.images()
        found = []
        for image in listed:
            for repo_tag in image.get("RepoTags") or ():
                repo, tag = _split_tag(str(repo_tag))
                if repo and tag and repo != "<none>":
                    found.append(LocalImage(repo, tag, str(image["Id"]), int(image["Size"] or 0)))
        return found

    def inspect(self, image: str) -> LocalImage:
        ref = parse_image(image)
        repo, tag = canonical(ref.repository, ref.tag)
        with engine_errors():
            try:
                data = self.api.inspect_image(f"{repo}:{tag}")
            except docker.errors.NotFound:
                raise NotFound(f"The engine has no image {image}.") from None
        return LocalImage(repo, tag, str(data["Id"]), int(data.get("Size") or 0))

    def remove(self, reference: str) -> None:
        with engine_errors():
            try:
                self.api.remove_image(reference)
            except docker.errors.NotFound:
                raise NotFound(f"The engine has no image {reference}.") from None
            except docker.errors.APIError as exc:
                if exc.status_code != 409:
                    raise
                raise ImageInUse(
                    f"Image {reference} is used by a container of the engine ({explanation(exc)}).",
                    image=reference,
                ) from None

    def images_in_use(self) -> frozenset[str]:
        with engine_errors():
            listed = self.api.containers(all=True)
        return frozenset(str(c["ImageID"]) for c in listed if c.get("ImageID"))

    def store_usage(self) -> StoreUsage | None:
        """The filesystem of the engine's ``DockerRootDir``, when the engine is reached
        through a local socket (so that path is on this machine)."""
        if not str(self.api.base_url).startswith("http+docker://"):
            return None
        with engine_errors():
            root = str(self.api.info().get("DockerRootDir") or "")
        try:
            fs = os.statvfs(root)
        except OSError:
            # Not visible from here (the engine runs in another mount namespace).
            return None
        capacity = fs.f_blocks * fs.f_frsize
        return StoreUsage(used=capacity - fs.f_bfree * fs.f_frsize, capacity=capacity)

    def load(self, source: IO[bytes]) -> str:
        """``docker load`` of the tarball read from ``source`` (streamed); the image's id."""
        loaded: list[str] = []
        with engine_errors():
            try:
                for item in self.api.load_image(source):
                    if "error" in item:
                        raise DriverError(f"the engine could not load the image: {item['error']}")
                    text = str(item.get("stream") or "").strip()
                    for prefix in ("Loaded image ID:", "Loaded image:"):
                        if text.startswith(prefix):
                            loaded.append(text.removeprefix(prefix).strip())
            except docker.errors.APIError as exc:
                raise DriverError(
                    f"the engine could not load the image: {explanation(exc)}"
                ) from exc
            if not loaded:
                raise DriverError("the tarball holds no image the engine could load")
            return str(self.api.inspect_image(loaded[0])["Id"])

    def tag(self, image_id: str, reference: str) -> None:
        repository, _, tag = reference.rpartition(":")
        with engine_errors():
            self.api.tag(image_id, repository, tag, force=True)

    def save(self, image: str, sink: IO[bytes]) -> None:
        """``docker save`` of ``image`` written to ``sink`` chunk by chunk."""
        with engine_errors():
            for chunk in self.api.get_image(image, chunk_size=1024 * 1024):
                sink.write(chunk)

    def search(
        self, term: str, exact: bool, auth: RegistryAuth | None = None
    ) -> list[dict[str, Any]]:
        ref = parse_image(term)
        if ref.domain is not None and ref.domain not in ("docker.io", "index.docker.io"):
            return search_registry(ref, exact, auth)
        with engine_errors():
            try:
                found = self.api.search(ref.path)
            except docker.errors.APIError as exc:
                text = explanation(exc)
                raise RegistryUnreachable(
                    f"Docker Hub could not be searched ({text})"
                    if exc.status_code is None or exc.status_code >= 500
                    else f"Docker Hub refused the search ({text})"
                ) from None
        items = [_hub_item(item) for item in found]
        return [i for i in items if not exact or i["name"] == ref.path]


def _split_tag(repo_tag: str) -> tuple[str, str]:
    repo, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, ""
    return repo, tag


def _hub_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": item.get("name"),
        "description": item.get("description"),
        "is_automated": bool(item.get("is_automated")),
        "metadata": {
            "is_official": bool(item.get("is_official")),
            "star_count": item.get("star_count"),
        },
    }


def _engine_auth(auth: RegistryAuth | None) -> dict[str, str] | None:
    return auth.engine_config() if auth is not None else None


def _is_auth_refused(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in _AUTH_HINTS)


def _auth_problem(image: str, ref: ImageRef, text: str, auth: RegistryAuth | None) -> str:
    registry = _registry(ref)
    if auth is None:
        advice = "it needs credentials: create the container with a registry that holds them"
    else:
        advice = f"check the username and password stored for registry {auth.domain}"
    return f"registry {registry} refused authentication for image '{image}' ({text}); {advice}"


def _registry(ref: ImageRef) -> str:
    return ref.domain or DEFAULT_DOMAIN


def _is_missing(text: str, status: int | None = None) -> bool:
    lowered = text.lower()
    if any(hint in lowered for hint in _UNREACHABLE_HINTS):
        return False
    return status in (401, 403, 404) or any(hint in lowered for hint in _MISSING_HINTS)


def _registry_problem(image: str, ref: ImageRef, exc: docker.errors.APIError) -> str:
    text = explanation(exc)
    registry = _registry(ref)
    if _is_missing(text, exc.status_code):
        return f"image '{image}' was not found in registry {registry} ({text})"
    if any(hint in text.lower() for hint in _UNREACHABLE_HINTS):
        return f"registry {registry} could not be reached ({text})"
    return f"registry {registry} refused to describe image '{image}' ({text})"


def _raise_pull_error(
    image: str,
    ref: ImageRef,
    text: str,
    auth: RegistryAuth | None,
    cause: BaseException | None = None,
) -> NoReturn:
    status = cause.status_code if isinstance(cause, docker.errors.APIError) else None
    registry = _registry(ref)
    if _is_auth_refused(text):
        # No chained cause: the engine error holds the request, which held the credentials.
        raise RegistryAuthFailed(_auth_problem(image, ref, text, auth), field="image") from None
    if _is_missing(text, status):
        raise InvalidImage(
            f"image '{image}' was not found in registry {registry} ({text})", field="image"
        ) from cause
    if any(hint in text.lower() for hint in _DISK_FULL_HINTS):
        raise DriverError(
            f"could not pull image '{image}': the host's disk is full ({text})"
        ) from cause
    if any(hint in text.lower() for hint in _UNREACHABLE_HINTS):
        raise DriverError(
            f"could not pull image '{image}': registry {registry} could not be reached ({text})"
        ) from cause
    raise DriverError(f"could not pull image '{image}' from registry {registry}: {text}") from cause
