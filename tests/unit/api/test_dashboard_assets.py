"""The dashboard works offline: everything a page loads is a file of the package, every such
file is in the package data a wheel ships, and nothing points at another site."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from dockyard.api.dashboard.server import STATIC

ROOT = Path(__file__).parents[3]
PACKAGE = ROOT / "dockyard"
#: ``import x from "./a.js"``, ``import("./a.js")``, ``export ... from "./a.js"``.
IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")
#: ``src="..."``, ``href="..."`` in the page; ``url(...)`` in stylesheets.
REFERENCE = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]+))""")
#: The one absolute URL the code holds: a namespace name, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg"}


def shipped() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.is_file())


def references(path: Path) -> list[str]:
    text = path.read_text(errors="replace")
    if path.suffix in (".js", ".mjs"):
        return IMPORT.findall(text)
    return [a or b for a, b in REFERENCE.findall(text)]


def test_every_static_file_is_in_the_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["dockyard"]
    missed = [
        str(path.relative_to(PACKAGE))
        for path in shipped()
        if not any(fnmatch.fnmatch(str(path.relative_to(PACKAGE)), p) for p in patterns)
    ]
    assert missed == [], f"not in [tool.setuptools.package-data]: {missed}"


def test_everything_a_page_loads_is_a_file_of_the_package() -> None:
    checked = 0
    for path in shipped():
        if path.suffix not in (".html", ".css", ".js", ".mjs"):
            continue
        for target in references(path):
            if target.startswith(("#", "data:")):
                continue
            assert "://" not in target and not target.startswith("//"), (path, target)
            # The page is served at /dashboard/ and names its files under static/.
            relative = target.removeprefix("static/") if path.suffix == ".html" else target
            base = STATIC if path.suffix == ".html" else path.parent
            assert (base / relative.split("?")[0]).resolve().is_file(), (path, target)
            checked += 1
    assert checked > 20  # the page, its stylesheets and every module import were read


def test_no_other_site_is_named() -> None:
    """In Dockyard's own files (vendored ones keep their credits, and what they load is
    checked above)."""
    for path in shipped():
        if path.suffix not in (".html", ".css", ".js") or "vendor" in path.parts:
            continue
        found = set(re.findall(r"""https?://[^\s"'`)]+""", path.read_text())) - NAMESPACES
        assert not found, (path, found)
