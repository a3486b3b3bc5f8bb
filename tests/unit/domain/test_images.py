"""Image reference parsing with the Docker Engine's grammar."""

from __future__ import annotations

import pytest

from dockyard.domain.errors import InvalidImage
from dockyard.domain.images import ImageRef, parse_image

SHA = "sha256:" + "a" * 64
SHA_UPPER = "sha256:" + "ABCDEF0123" * 6 + "ABCD"

# reference -> (domain, path, tag, digest)
VALID: dict[str, tuple[str | None, str, str | None, str | None]] = {
    "busybox": (None, "busybox", None, None),
    "busybox:1.36": (None, "busybox", "1.36", None),
    "busybox:latest": (None, "busybox", "latest", None),
    "library/busybox": (None, "library/busybox", None, None),
    "a/b/c/d": (None, "a/b/c/d", None, None),
    "my-app": (None, "my-app", None, None),
    "my--app": (None, "my--app", None, None),
    "my_app": (None, "my_app", None, None),
    "my__app": (None, "my__app", None, None),
    "my.app": (None, "my.app", None, None),
    "app:v1.2-rc_3": (None, "app", "v1.2-rc_3", None),
    "app:UPPER": (None, "app", "UPPER", None),
    "app:_x": (None, "app", "_x", None),
    "docker.io/library/busybox:1.36": ("docker.io", "library/busybox", "1.36", None),
    "quay.io/org/img": ("quay.io", "org/img", None, None),
    "localhost/img": ("localhost", "img", None, None),
    "localhost:5000/img:tag": ("localhost:5000", "img", "tag", None),
    "127.0.0.1:5001/dockyard-test/busybox:latest": (
        "127.0.0.1:5001",
        "dockyard-test/busybox",
        "latest",
        None,
    ),
    "registry-1.example.com:443/team/app": ("registry-1.example.com:443", "team/app", None, None),
    "[::1]:5000/img": ("[::1]:5000", "img", None, None),
    "Registry.Example.COM/img": ("Registry.Example.COM", "img", None, None),
    "MyRegistry/img": ("MyRegistry", "img", None, None),  # upper case first part: a domain
    f"busybox@{SHA}": (None, "busybox", None, SHA),
    f"busybox:1.36@{SHA}": (None, "busybox", "1.36", SHA),
    f"localhost:5000/img@{SHA}": ("localhost:5000", "img", None, SHA),
    f"img@{SHA_UPPER}": (None, "img", None, SHA_UPPER),
    "img@sha512+b64.v2:" + "0" * 32: (None, "img", None, "sha512+b64.v2:" + "0" * 32),
    "app:" + "t" * 128: (None, "app", "t" * 128, None),
}

INVALID = [
    "",
    " busybox",
    "busybox ",
    "Busybox",  # upper case in a name without a domain
    "library/Busybox",
    "quay.io/Org/img",  # upper case in the path
    "busybox:",
    "busybox::1",
    "busybox:-tag",  # a tag starts with a word character
    "busybox:.tag",
    "app:" + "t" * 129,  # tags are at most 128 characters
    "a//b",
    "/busybox",
    "busybox/",
    "-busybox",
    "busybox-",
    "bu___sybox",
    "bu..sybox",
    "bu.-sybox",
    "bu sybox",
    "busybox@sha256:abc",  # digest too short
    "busybox@sha256",
    f"busybox@{SHA}:tag",
    "busybox@" + "a" * 64,
    "localhost:port/img",
    "-bad.example.com/img",
    "exa_mple.com/img",
    "http://example.com/img",
    "img:tag:tag",
]


@pytest.mark.parametrize("reference", sorted(VALID))
def test_valid_references(reference: str) -> None:
    domain, path, tag, digest = VALID[reference]

    assert parse_image(reference) == ImageRef(domain, path, tag, digest)


@pytest.mark.parametrize("reference", INVALID)
def test_invalid_references(reference: str) -> None:
    with pytest.raises(InvalidImage) as info:
        parse_image(reference)

    assert info.value.fields == {"field": "image"}
    assert repr(reference) in info.value.detail
    assert info.value.status == 400
    assert info.value.code == "image-not-found"


def test_255_characters_are_accepted_and_256_rejected() -> None:
    longest = "a/" * 126 + "abc"
    assert len(longest) == 255
    assert parse_image(longest).path == longest

    with pytest.raises(InvalidImage):
        parse_image(longest + "d")
    with pytest.raises(InvalidImage):
        parse_image("a" * 256)


@pytest.mark.parametrize(
    ("reference", "pinned"),
    [
        ("busybox", False),
        ("busybox:latest", False),
        ("registry.example.com:5000/busybox:latest", False),
        ("busybox:1.36", True),
        ("busybox:Latest", True),  # only the exact tag `latest` floats
        (f"busybox@{SHA}", True),
        (f"busybox:latest@{SHA}", True),
    ],
)
def test_pinned(reference: str, pinned: bool) -> None:
    assert parse_image(reference).pinned is pinned


@pytest.mark.parametrize(
    ("reference", "text"),
    [
        ("busybox", "busybox:latest"),
        ("busybox:1.36", "busybox:1.36"),
        ("library/busybox", "library/busybox:latest"),
        ("localhost:5000/img", "localhost:5000/img:latest"),
        ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
        (f"busybox@{SHA}", f"busybox@{SHA}"),  # a digest alone gets no tag
        (f"busybox:1.36@{SHA}", f"busybox:1.36@{SHA}"),
    ],
)
def test_str_normalises(reference: str, text: str) -> None:
    ref = parse_image(reference)

    assert str(ref) == text
    assert parse_image(str(ref)).repository == ref.repository  # normal form parses again


def test_repository() -> None:
    assert parse_image("localhost:5000/a/b:1").repository == "localhost:5000/a/b"
    assert parse_image("a/b:1").repository == "a/b"


def test_single_component_with_dot_is_a_path_not_a_domain() -> None:
    # Without a slash there is nothing after a would-be domain: it is a name.
    assert parse_image("my.app:1") == ImageRef(None, "my.app", "1", None)
