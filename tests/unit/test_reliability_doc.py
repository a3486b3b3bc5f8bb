"""docs/reliability.md's table is the rendering of docs/reliability.json, the recorded run.

Regenerate both: DOCKYARD_FAULTS_JSON=docs/reliability.json .venv/bin/pytest tests/faults
then python3 scripts/render-reliability.py docs/reliability.json docs/reliability.md
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_reliability", ROOT / "scripts" / "render-reliability.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_is_the_recorded_run() -> None:
    render = renderer()
    results = json.loads((ROOT / "docs" / "reliability.json").read_text())
    page = (ROOT / "docs" / "reliability.md").read_text()
    assert f"{render.BEGIN}\n{render.render(results)}\n{render.END}" in page


def test_every_fault_and_step_was_recorded() -> None:
    results = json.loads((ROOT / "docs" / "reliability.json").read_text())
    faults = {item["fault"] for item in results}
    assert len(faults) == 6, faults
    held = [item for item in results if item["fault"] != "image store disk full"]
    assert len(held) == 5 * 8
    assert all(item["outcome"] for item in results)
