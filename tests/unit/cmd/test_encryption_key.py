"""auth_encryption_key: generated and kept by `dockyard up`, required by dockyard-api."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.cmd import api_server
from dockyard.cmd.configuration import load_config
from dockyard.cmd.services import ENCRYPTION_KEY_FILE, keep_encryption_key, secret_box


def _config(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "dockyard.conf"
    path.write_text("\n".join(["[DEFAULT]", f"data_dir = {tmp_path / 'data'}", *lines]) + "\n")
    return path


def test_up_generates_a_private_key_once_and_reuses_it(tmp_path: Path) -> None:
    path = _config(tmp_path)
    first = load_config([f"--config-file={path}"])
    keep_encryption_key(first)
    key_file = tmp_path / "data" / ENCRYPTION_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = first.auth_encryption_key
    assert len(key) >= 32 and key_file.read_text().strip() == key

    again = load_config([f"--config-file={path}"])
    keep_encryption_key(again)
    assert again.auth_encryption_key == key
    sealed = secret_box(first).seal("pw")
    assert secret_box(again).open(sealed) == "pw"


def test_a_configured_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    conf = load_config([f"--config-file={_config(tmp_path, 'auth_encryption_key = ' + 'z' * 40)}"])
    keep_encryption_key(conf)
    assert conf.auth_encryption_key == "z" * 40
    assert not (tmp_path / "data" / ENCRYPTION_KEY_FILE).exists()


def test_the_api_process_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    path = _config(tmp_path, "[database]", "connection = postgresql+psycopg://nobody@127.0.0.1:1/x")
    with pytest.raises(SystemExit) as stopped:
        api_server.main([f"--config-file={path}"])
    assert "[DEFAULT] auth_encryption_key is not set" in str(stopped.value.code)


def test_the_api_process_refuses_a_short_key(tmp_path: Path) -> None:
    path = _config(tmp_path, "auth_encryption_key = short")
    with pytest.raises(SystemExit) as stopped:
        api_server.main([f"--config-file={path}"])
    assert "at least 32 characters" in str(stopped.value.code)
