"""`dockyard`: dispatches each subcommand to its module's main, loaded when used."""

from __future__ import annotations

import pytest

from dockyard.cmd import all_in_one, dockyard_command


def test_up_runs_the_all_in_one() -> None:
    assert dockyard_command.SUBCOMMANDS["up"].main() is all_in_one.main


def test_the_arguments_after_the_subcommand_go_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(argv)
        return 7

    monkeypatch.setattr(all_in_one, "main", fake_main)
    assert dockyard_command.main(["up", "--port", "9000"]) == 7
    assert seen == [["--port", "9000"]]


def test_no_arguments_print_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert dockyard_command.main([]) == 0
    out = capsys.readouterr().out
    assert "usage: dockyard" in out and "up " in out


def test_an_unknown_subcommand_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        dockyard_command.main(["sail"])
    assert caught.value.code == 2
    assert "invalid choice: 'sail'" in capsys.readouterr().err
