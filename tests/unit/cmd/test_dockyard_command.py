"""`dockyard`: `up` goes to the all-in-one service, every other verb to the client."""

from __future__ import annotations

import pytest

from dockyard.cli import app as cli_app
from dockyard.cmd import all_in_one, dockyard_command


def test_the_arguments_after_up_go_to_the_all_in_one(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(argv)
        return 7

    monkeypatch.setattr(all_in_one, "main", fake_main)
    assert dockyard_command.main(["up", "--port", "9000"]) == 7
    assert seen == [["--port", "9000"]]


def test_other_verbs_go_to_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_client(argv: list[str]) -> int:
        seen.append(argv)
        return 3

    monkeypatch.setattr(cli_app, "main", fake_client)
    assert dockyard_command.main(["ps", "-a"]) == 3
    assert seen == [["ps", "-a"]]


def test_no_arguments_list_every_subcommand_up_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert dockyard_command.main([]) == 0
    out = capsys.readouterr().out
    assert "usage: dockyard" in out
    for verb in ("up", "run", "ps", "logs", "exec", "login"):
        assert f"\n    {verb} " in out or f"  {verb} " in out, verb


def test_an_unknown_subcommand_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert dockyard_command.main(["sail"]) != 0
    assert "invalid choice: 'sail'" in capsys.readouterr().err
