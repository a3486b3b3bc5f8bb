"""dockyard/domain/failpoints.py: a hold only where enabled and armed, until released."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dockyard.domain import failpoints


@pytest.fixture
def enabled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(failpoints, "ENABLED", frozenset({"stop"}))
    monkeypatch.setattr(failpoints, "DIRECTORY", tmp_path)
    monkeypatch.setattr(failpoints, "TIMEOUT", 5.0)
    return tmp_path


def test_disabled_points_never_look_at_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(failpoints, "DIRECTORY", tmp_path)
    (tmp_path / "stop@c1.arm").touch()
    started = time.monotonic()
    failpoints.hit("stop", "c1")
    assert time.monotonic() - started < 0.05
    assert not (tmp_path / "stop@c1.reached").exists()


def test_an_enabled_point_passes_subjects_not_armed(enabled: Path) -> None:
    failpoints.hit("stop", "c1")
    assert list(enabled.iterdir()) == []


def test_an_armed_subject_waits_for_its_release(enabled: Path) -> None:
    (enabled / "stop@c1.arm").touch()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (failpoints.hit("stop", "other", "c1"), done.set()))
    worker.start()
    deadline = time.monotonic() + 5
    while not (enabled / "stop@c1.reached").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not done.wait(0.3), "went on before its release"
    (enabled / "stop@c1.release").touch()
    assert done.wait(5)
    worker.join()


def test_a_hold_ends_at_its_timeout(enabled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(failpoints, "TIMEOUT", 0.3)
    (enabled / "stop@c1.arm").touch()
    started = time.monotonic()
    failpoints.hit("stop", "c1")
    assert 0.3 <= time.monotonic() - started < 3


def test_unknown_points_are_refused() -> None:
    assert failpoints._enabled(" stop, delete ,") == {"stop", "delete"}
    with pytest.raises(ValueError, match="create.typo"):
        failpoints._enabled("stop,create.typo")
