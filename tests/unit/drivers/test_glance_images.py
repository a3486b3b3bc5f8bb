"""The Glance driver's own rules, with Glance and the engine faked: the checksum decides,
the file goes, one download per image and host, search filters (the real Glance and
engine: tests/integration/test_glance.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import pytest

from dockyard.domain.errors import DriverError, InvalidImage, InvalidInput
from dockyard.drivers.image.docker import DockerImages
from dockyard.drivers.image.glance import GlanceImages, cache_reference
from dockyard.drivers.image.glance_client import GlanceClient, GlanceImage, search_glance

DATA = b"a docker save tarball" * 1000


def _image(
    image_id: str = "11111111-2222-3333-4444-555555555555",
    name: str = "web",
    container_format: str = "docker",
    digest: str | None = None,
    tags: tuple[str, ...] = (),
) -> GlanceImage:
    return GlanceImage(
        id=image_id,
        name=name,
        status="active",
        container_format=container_format,
        disk_format="raw",
        size=len(DATA),
        checksum=None,
        hash_algo="sha512",
        hash_value=digest or hashlib.sha512(DATA).hexdigest(),
        tags=tags,
    )


class FakeGlance:
    def __init__(self, *images: GlanceImage) -> None:
        self.images = list(images)
        self.downloads = 0

    def find(self, name_or_id: str) -> GlanceImage:
        for image in self.images:
            if name_or_id in (image.id, image.name):
                return image
        raise InvalidImage(f"image '{name_or_id}' was not found in Glance")

    def docker_images(self) -> Iterator[GlanceImage]:
        return iter(i for i in self.images if i.container_format == "docker")

    def download(self, image_id: str, sink: IO[bytes], seen: Callable[[bytes], None]) -> None:
        self.downloads += 1
        for start in range(0, len(DATA), 4096):
            sink.write(DATA[start : start + 4096])
            seen(DATA[start : start + 4096])


class FakeEngine:
    def __init__(self) -> None:
        self.tags: dict[str, str] = {}
        self.loaded: list[bytes] = []

    def exists_locally(self, image: str) -> bool:
        return image in self.tags

    def load(self, source: IO[bytes]) -> str:
        self.loaded.append(source.read())
        return "sha256:abc"

    def tag(self, image_id: str, reference: str) -> None:
        self.tags[reference] = image_id


def _driver(tmp_path: Path, glance: FakeGlance) -> tuple[GlanceImages, FakeEngine]:
    engine = FakeEngine()
    driver = GlanceImages(
        cast(GlanceClient, glance), cast(DockerImages, engine), tmp_path / "dl", "h1"
    )
    return driver, engine


def test_an_image_is_downloaded_checked_loaded_and_tagged_once(tmp_path: Path) -> None:
    glance = FakeGlance(_image())
    driver, engine = _driver(tmp_path, glance)
    seen: list[Any] = []
    driver.pull("web", progress=seen.append)
    assert engine.loaded == [DATA]
    assert engine.tags == {cache_reference(_image().id): "sha256:abc"}
    assert seen[-1].bytes_done == seen[-1].bytes_total == len(DATA)
    assert driver.exists_locally("web")
    driver.pull(_image().id)
    assert glance.downloads == 1
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_checksum_mismatch_loads_nothing_and_leaves_no_file(tmp_path: Path) -> None:
    glance = FakeGlance(_image(digest="0" * 128))
    driver, engine = _driver(tmp_path, glance)
    with pytest.raises(DriverError, match="^checksum mismatch: "):
        driver.pull("web")
    assert engine.loaded == [] and engine.tags == {}
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_non_docker_image_is_refused_before_any_download(tmp_path: Path) -> None:
    glance = FakeGlance(_image(container_format="bare"))
    driver, _ = _driver(tmp_path, glance)
    with pytest.raises(InvalidInput, match="container_format 'bare', not 'docker'"):
        driver.pull("web")
    assert glance.downloads == 0


def test_the_engine_reference_is_the_cache_tag_of_the_glance_id(tmp_path: Path) -> None:
    driver, _ = _driver(tmp_path, FakeGlance(_image()))
    assert driver.engine_reference("web") == f"glance/{_image().id}:latest"


def test_search_keeps_docker_images_by_name_part_exact_name_id_or_tag() -> None:
    glance = cast(
        GlanceClient,
        FakeGlance(
            _image("a" * 32, "web-server", tags=("v1",)),
            _image("b" * 32, "web"),
            _image("c" * 32, "web-vm", container_format="bare"),
        ),
    )
    assert [i["name"] for i in search_glance(glance, "web", False)] == ["web-server", "web"]
    assert [i["name"] for i in search_glance(glance, "web", True)] == ["web"]
    assert [i["name"] for i in search_glance(glance, "web:v1", False)] == ["web-server"]
    assert [i["id"] for i in search_glance(glance, "b" * 32, True)] == ["b" * 32]
