from pathlib import Path

from dockyard.config.reference import render

DOC = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_configuration_reference_is_up_to_date() -> None:
    assert DOC.read_text() == render(), (
        "docs/configuration.md is stale: run "
        "`python -m dockyard.config.reference > docs/configuration.md`"
    )
