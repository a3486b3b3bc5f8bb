from __future__ import annotations

import io
import tarfile

from dockyard.domain.bind_files import FILE_MODE, bind_archive
from dockyard.domain.volumes import MountRequest, MountType


def test_no_binds_make_no_archive() -> None:
    assert bind_archive([]) is None
    assert bind_archive([MountRequest(MountType.VOLUME, "/data", size_gib=1)]) is None


def test_each_bind_is_a_file_at_its_destination() -> None:
    data = bind_archive(
        [
            MountRequest(MountType.BIND, "/etc/app.conf", content=b"a=1\n"),
            MountRequest(MountType.VOLUME, "/data", source="v"),
            MountRequest(MountType.BIND, "/opt/empty", content=b""),
        ],
        mtime=1700000000,
    )
    assert data is not None
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        assert [(m.name, m.size, m.mode, m.isfile()) for m in members] == [
            ("etc/app.conf", 4, FILE_MODE, True),
            ("opt/empty", 0, FILE_MODE, True),
        ]
        assert members[0].mtime == 1700000000
        extracted = archive.extractfile(members[0])
        assert extracted is not None and extracted.read() == b"a=1\n"
