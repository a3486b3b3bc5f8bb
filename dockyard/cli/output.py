"""Output the way ``docker`` prints it: aligned tables, ``--format json`` and Go-style templates.

A row is a mapping from a template field name (``ID``, ``Names``, ...) to its
text; a table names its columns by those fields and its headers as Docker spells them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

#: Columns are separated by at least this many spaces, as in ``docker ps``.
GAP = 3

_FIELD = re.compile(r"\{\{\s*(?:(?P<json>json)\s+)?\.(?P<name>[A-Za-z]*)\s*\}\}")


@dataclass(frozen=True)
class Column:
    header: str
    field: str


def table(columns: Sequence[Column], rows: Iterable[Mapping[str, str]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    cells = [[c.header for c in columns]]
    cells += [[row.get(c.field, "") for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for line in cells:
        padded = [text.ljust(widths[i] + GAP) for i, text in enumerate(line[:-1])]
        lines.append(("".join(padded) + line[-1]).rstrip())
    return "\n".join(lines) + "\n"


def render_template(template: str, row: Mapping[str, str], record: Any) -> str:
    """Fill ``{{.Field}}``, ``{{json .Field}}`` and ``{{json .}}`` (the API record) in."""

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if not name:
            return json.dumps(record) if match["json"] else str(record)
        if name not in row:
            raise KeyError(name)
        return json.dumps(row[name]) if match["json"] else row[name]

    text = template.replace("\\t", "\t").replace("\\n", "\n")
    return _FIELD.sub(fill, text)


def template_fields(template: str) -> list[str]:
    return [m["name"] for m in _FIELD.finditer(template) if m["name"]]


def emit(
    out: TextIO,
    fmt: str | None,
    columns: Sequence[Column],
    rows: Sequence[tuple[Mapping[str, str], Any]],
) -> None:
    """Print ``rows`` (display row, API record) as a table, JSON lines or a template.

    ``table {{.A}}\\t{{.B}}`` prints a header and aligns the tab-separated fields.
    """
    if fmt is None or fmt == "table":
        out.write(table(columns, (row for row, _ in rows)))
    elif fmt == "json":
        for _, record in rows:
            out.write(json.dumps(record, sort_keys=True) + "\n")
    elif fmt.startswith("table "):
        names = template_fields(fmt)
        by_field = {c.field: c for c in columns}
        chosen = [by_field.get(name, Column(name.upper(), name)) for name in names]
        out.write(table(chosen, (row for row, _ in rows)))
    else:
        for row, record in rows:
            out.write(render_template(fmt, row, record) + "\n")


def check_format(fmt: str | None, fields: Iterable[str]) -> None:
    """Refuse a template naming a field the command does not have, before any request."""
    if fmt is None or fmt in ("table", "json"):
        return
    known = set(fields)
    unknown = [name for name in template_fields(fmt) if name not in known]
    if unknown:
        raise ValueError(f"template: no field {unknown[0]!r} (known: {', '.join(sorted(known))})")


def truncate(text: str, width: int) -> str:
    """``docker ps`` shortens long cells to ``width`` characters ending in an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"
