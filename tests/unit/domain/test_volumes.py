from __future__ import annotations

import base64
from typing import Any

import pytest

from dockyard.domain.errors import (
    Base64Exception,
    InvalidInput,
    InvalidState,
    VolumeInUse,
    VolumeNotFound,
)
from dockyard.domain.volumes import (
    MountLimits,
    MountRequest,
    MountType,
    Volume,
    VolumeAttachment,
    VolumeStatus,
    check_destination,
    check_size,
    ensure_attachable,
    ensure_deletable,
    new_volume,
    new_volume_disk_gib,
    parse_mount,
    parse_mounts,
)

LIMITS = MountLimits(max_size_gib=100, max_mounts=4, max_bind_bytes=16)
B64 = base64.b64encode(b"hello\n").decode()


def test_a_sized_volume_mount_asks_for_a_new_volume() -> None:
    made = parse_mount({"size": "2", "destination": "/data/"}, LIMITS)
    assert made == MountRequest(MountType.VOLUME, "/data", size_gib=2)
    assert made.creates_volume and not made.names_volume


def test_a_named_volume_mount_defaults_to_type_volume() -> None:
    made = parse_mount({"source": "db-data", "destination": "/var/lib/db"}, LIMITS)
    assert made == MountRequest(MountType.VOLUME, "/var/lib/db", source="db-data")
    assert made.names_volume and not made.creates_volume


def test_a_bind_carries_its_decoded_content() -> None:
    made = parse_mount({"type": "bind", "source": B64, "destination": "/etc/app.conf"}, LIMITS)
    assert made == MountRequest(MountType.BIND, "/etc/app.conf", content=b"hello\n")
    assert not made.creates_volume and not made.names_volume


def test_an_empty_bind_injects_an_empty_file() -> None:
    made = parse_mount({"type": "bind", "source": "", "destination": "/x"}, LIMITS)
    assert made.content == b""


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("/data", "/data"),
        ("//data//x/", "/data/x"),
        ("/data/./x", "/data/x"),
        ("/usr/share/nginx/html", "/usr/share/nginx/html"),
        ("/etc/nginx", "/etc/nginx"),
        ("/var/lib/mysql", "/var/lib/mysql"),
    ],
)
def test_destinations_are_normalised(given: str, normal: str) -> None:
    assert check_destination(given) == normal


def test_no_mounts_is_nothing() -> None:
    assert parse_mounts(None, LIMITS) == ()
    assert parse_mounts([], LIMITS) == ()


def test_new_volumes_count_their_size_in_disk() -> None:
    mounts = parse_mounts(
        [
            {"size": 3, "destination": "/a"},
            {"source": "old", "destination": "/b"},
            {"size": "4", "destination": "/c"},
            {"type": "bind", "source": B64, "destination": "/d"},
        ],
        LIMITS,
    )
    assert new_volume_disk_gib(mounts) == 7


BAD_MOUNTS: list[tuple[Any, type[Exception], str, str]] = [
    ({"source": "v", "size": 1, "destination": "/d"}, InvalidInput, "mounts", "not both"),
    ({"destination": "/d"}, InvalidInput, "mounts", "needs source"),
    ({"source": None, "size": None, "destination": "/d"}, InvalidInput, "mounts", "needs source"),
    ({"size": 1}, InvalidInput, "destination", "non-empty path"),
    ({"size": 1, "destination": ""}, InvalidInput, "destination", "non-empty path"),
    ({"size": 1, "destination": 7}, InvalidInput, "destination", "non-empty path"),
    ({"size": 1, "destination": "data"}, InvalidInput, "destination", "relative"),
    ({"size": 1, "destination": "./data"}, InvalidInput, "destination", "relative"),
    ({"size": 1, "destination": "/data/../etc"}, InvalidInput, "destination", "'..'"),
    ({"size": 1, "destination": "/.."}, InvalidInput, "destination", "'..'"),
    ({"size": 1, "destination": "/"}, InvalidInput, "destination", "system directory /"),
    ({"size": 1, "destination": "//"}, InvalidInput, "destination", "system directory /"),
    ({"size": 1, "destination": "/etc"}, InvalidInput, "destination", "system directory"),
    ({"size": 1, "destination": "/usr/"}, InvalidInput, "destination", "system directory"),
    ({"size": 1, "destination": "/bin"}, InvalidInput, "destination", "system directory"),
    ({"size": 1, "destination": "/sbin"}, InvalidInput, "destination", "system directory"),
    ({"size": 1, "destination": "/lib64"}, InvalidInput, "destination", "system directory"),
    ({"size": 1, "destination": "/usr/lib"}, InvalidInput, "destination", "system directory"),
    ({"size": 1, "destination": "/proc"}, InvalidInput, "destination", "system directory"),
    ({"size": 1, "destination": "/proc/sys/kernel"}, InvalidInput, "destination", "inside /proc"),
    ({"size": 1, "destination": "/sys/fs/cgroup"}, InvalidInput, "destination", "inside /sys"),
    ({"size": 1, "destination": "/dev/shm"}, InvalidInput, "destination", "inside /dev"),
    ({"size": 1, "destination": "/etc/hosts"}, InvalidInput, "destination", "by the engine"),
    (
        {"type": "bind", "source": B64, "destination": "/etc//resolv.conf"},
        InvalidInput,
        "destination",
        "by the engine",
    ),  # fmt: skip
    ({"size": 1, "destination": "/data:ro"}, InvalidInput, "destination", "':'"),
    ({"size": 1, "destination": "/a,b"}, InvalidInput, "destination", "':'"),
    ({"size": 1, "destination": "/a\nb"}, InvalidInput, "destination", "control character"),
    ({"size": 1, "destination": "/a\x00"}, InvalidInput, "destination", "control character"),
    ({"size": 1, "destination": "/" + "a" * 4096}, InvalidInput, "destination", "longer than"),
    ({"size": 0, "destination": "/d"}, InvalidInput, "size", "at least 1"),
    ({"size": "0", "destination": "/d"}, InvalidInput, "size", "at least 1"),
    ({"size": -3, "destination": "/d"}, InvalidInput, "size", "at least 1"),
    ({"size": "-3", "destination": "/d"}, InvalidInput, "size", "at least 1"),
    ({"size": 101, "destination": "/d"}, InvalidInput, "size", "over the largest"),
    ({"size": "1.5", "destination": "/d"}, InvalidInput, "size", "whole number"),
    ({"size": 1.5, "destination": "/d"}, InvalidInput, "size", "whole number"),
    ({"size": "", "destination": "/d"}, InvalidInput, "size", "whole number"),
    ({"size": "ten", "destination": "/d"}, InvalidInput, "size", "whole number"),
    ({"size": True, "destination": "/d"}, InvalidInput, "size", "whole number"),
    ({"size": [1], "destination": "/d"}, InvalidInput, "size", "whole number"),
    ({"source": "", "destination": "/d"}, InvalidInput, "source", "non-empty"),
    ({"source": "  ", "destination": "/d"}, InvalidInput, "source", "non-empty"),
    ({"source": 12, "destination": "/d"}, InvalidInput, "source", "non-empty"),
    ({"source": "v" * 256, "destination": "/d"}, InvalidInput, "source", "at most 255"),
    ({"source": "a:b", "destination": "/d"}, InvalidInput, "source", "':'"),
    ({"type": "tmpfs", "size": 1, "destination": "/d"}, InvalidInput, "type", "not 'tmpfs'"),
    ({"type": "", "size": 1, "destination": "/d"}, InvalidInput, "type", "not ''"),
    ({"type": 1, "size": 1, "destination": "/d"}, InvalidInput, "type", "not 1"),
    ({"type": "bind", "destination": "/d"}, InvalidInput, "source", "content as source"),
    (
        {"type": "bind", "source": B64, "size": 1, "destination": "/d"},
        InvalidInput,
        "size",
        "no size",
    ),  # fmt: skip
    (
        {"type": "bind", "source": "not base64!", "destination": "/d"},
        Base64Exception,
        "source",
        "base64 encoding",
    ),  # fmt: skip
    (
        {"type": "bind", "source": "aGVsbG8", "destination": "/d"},
        Base64Exception,
        "source",
        "base64 encoding",
    ),  # fmt: skip
    (
        {"type": "bind", "source": 42, "destination": "/d"},
        Base64Exception,
        "source",
        "base64 text",
    ),  # fmt: skip
    (
        {"type": "bind", "source": base64.b64encode(b"x" * 17).decode(), "destination": "/d"},
        InvalidInput,
        "source",
        "over 16 bytes",
    ),  # fmt: skip
    (
        {"type": "bind", "source": "A" * 10_000, "destination": "/d"},
        InvalidInput,
        "source",
        "over 16 bytes",
    ),  # fmt: skip
    (
        {"type": "bind", "source": B64, "destination": "/etc"},
        InvalidInput,
        "destination",
        "system directory",
    ),  # fmt: skip
    ({"size": 1, "destination": "/d", "readonly": True}, InvalidInput, "mounts", "readonly"),
    ("size=1,destination=/d", InvalidInput, "mounts", "must be an object"),
    (None, InvalidInput, "mounts", "must be an object"),
]


@pytest.mark.parametrize(("raw", "error", "field", "words"), BAD_MOUNTS)
def test_bad_mounts_are_refused_naming_the_field(
    raw: Any, error: type[Exception], field: str, words: str
) -> None:
    with pytest.raises(error) as caught:
        parse_mount(raw, LIMITS)
    assert type(caught.value) is error
    assert caught.value.fields == {"field": field}  # type: ignore[attr-defined]
    assert words in caught.value.detail  # type: ignore[attr-defined]
    assert caught.value.status == 400  # type: ignore[attr-defined]


BAD_LISTS: list[tuple[Any, str, str]] = [
    ({"size": 1, "destination": "/d"}, "mounts", "must be a list"),
    ("/d", "mounts", "must be a list"),
    ([{"size": 1, "destination": "/d"}] * 5, "mounts", "At most 4 mounts"),
    (
        [{"size": 1, "destination": "/d"}, {"source": "v", "destination": "/d/"}],
        "destination",
        "share the destination /d",
    ),
    (
        [{"source": "v", "destination": "/a"}, {"source": "v", "destination": "/b"}],
        "source",
        "mounted twice",
    ),
    ([{"size": 1, "destination": "/a"}, {"size": 0, "destination": "/b"}], "size", "at least 1"),
]


@pytest.mark.parametrize(("raw", "field", "words"), BAD_LISTS)
def test_bad_mount_lists_are_refused(raw: Any, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_mounts(raw, LIMITS)
    assert caught.value.fields == {"field": field}
    assert words in caught.value.detail


def test_a_new_volume_is_checked_and_creating() -> None:
    made = new_volume(id="v1", project_id="p1", size="8", name="data", limits=LIMITS)
    assert made == Volume("v1", "p1", 8, "data", VolumeStatus.CREATING)
    with pytest.raises(InvalidInput, match="at least 1"):
        new_volume(id="v2", project_id="p1", size=0, limits=LIMITS)
    with pytest.raises(InvalidInput, match="at most 255"):
        new_volume(id="v3", project_id="p1", size=1, name="n" * 256, limits=LIMITS)


HELD = Volume("v1", "p1", 1, attachments=(VolumeAttachment("c1", "h1", "/d"),))


def test_another_projects_volume_is_not_found_for_attach_and_delete() -> None:
    free = Volume("v1", "p1", 1)
    with pytest.raises(VolumeNotFound):
        ensure_attachable(free, "p2")
    with pytest.raises(VolumeNotFound):
        ensure_deletable(free, "p2")


def test_a_volume_in_use_cannot_be_attached_again_nor_deleted() -> None:
    with pytest.raises(VolumeInUse, match="in use by c1") as caught:
        ensure_attachable(HELD, "p1")
    assert caught.value.status == 409
    with pytest.raises(VolumeInUse, match="in use by c1"):
        ensure_deletable(HELD, "p1")


@pytest.mark.parametrize("status", [VolumeStatus.CREATING, VolumeStatus.ERROR])
def test_a_volume_not_available_cannot_be_attached(status: VolumeStatus) -> None:
    with pytest.raises(InvalidState, match=f"is {status}"):
        ensure_attachable(Volume("v1", "p1", 1, status=status), "p1")


def test_a_local_volume_is_attached_only_where_its_data_lives() -> None:
    placed = Volume("v1", "p1", 1, host="h1")
    ensure_attachable(placed, "p1", "h1")
    ensure_attachable(placed, "p1")
    with pytest.raises(InvalidState, match="lives on host h1"):
        ensure_attachable(placed, "p1", "h2")


def test_an_available_volume_of_the_project_may_be_deleted() -> None:
    ensure_deletable(Volume("v1", "p1", 1), "p1")
    ensure_deletable(Volume("v1", "p1", 1, status=VolumeStatus.ERROR), "p1")
    with pytest.raises(InvalidState, match="is deleting"):
        ensure_deletable(Volume("v1", "p1", 1, status=VolumeStatus.DELETING), "p1")


@pytest.mark.parametrize("size", ["--5", "-+5", "\u00b2", "1_000", " - 5"])
def test_a_size_int_would_refuse_is_invalid_input_not_a_crash(size: str) -> None:
    """Regression: "--5" passed the digits check (after lstrip("-")) and int() raised."""
    with pytest.raises(InvalidInput, match="whole number"):
        check_size(size, LIMITS)
    assert check_size(" 3 ", LIMITS) == 3
