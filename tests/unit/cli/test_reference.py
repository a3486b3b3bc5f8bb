from pathlib import Path

from dockyard.cli.reference import render

DOC = Path(__file__).parents[3] / "docs" / "cli.md"


def test_cli_reference_is_up_to_date() -> None:
    assert DOC.read_text() == render(), (
        "docs/cli.md is stale: run `python -m dockyard.cli.reference > docs/cli.md`"
    )


def test_cli_reference_covers_every_command() -> None:
    text = DOC.read_text()
    for verb in ("run", "ps", "logs", "exec", "attach", "cp", "images", "pull", "login"):
        assert f"## dockyard {verb}\n" in text
