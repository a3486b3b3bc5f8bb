import io
import json

import pytest

from dockyard.cli import output

COLUMNS = [output.Column("CONTAINER ID", "ID"), output.Column("NAMES", "Names")]
ROWS = [({"ID": "abc", "Names": "web"}, {"uuid": "a-b-c"}),
        ({"ID": "defghijklmnopq", "Names": "db"}, {"uuid": "d-e-f"})]  # fmt: skip


def test_table_pads_columns_to_the_widest_cell_plus_three_spaces() -> None:
    assert output.table(COLUMNS, [r for r, _ in ROWS]) == (
        "CONTAINER ID     NAMES\nabc              web\ndefghijklmnopq   db\n"
    )


def test_an_empty_last_cell_leaves_no_trailing_space() -> None:
    columns = [output.Column("A", "a"), output.Column("PORTS", "p")]
    assert output.table(columns, [{"a": "x", "p": ""}]) == "A   PORTS\nx\n"


def test_formats() -> None:
    out = io.StringIO()
    output.emit(out, "json", COLUMNS, ROWS)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [r for _, r in ROWS]
    out = io.StringIO()
    output.emit(out, "{{.Names}}\\t{{json .ID}}", COLUMNS, ROWS)
    assert out.getvalue() == 'web\t"abc"\ndb\t"defghijklmnopq"\n'
    out = io.StringIO()
    output.emit(out, "table {{.Names}}", COLUMNS, ROWS)
    assert out.getvalue() == "NAMES\nweb\ndb\n"
    out = io.StringIO()
    output.emit(out, "{{json .}}", COLUMNS, ROWS[:1])
    assert json.loads(out.getvalue()) == {"uuid": "a-b-c"}


def test_a_template_with_an_unknown_field_is_refused_up_front() -> None:
    output.check_format("{{.ID}} {{ .Names }}", ["ID", "Names"])
    with pytest.raises(ValueError, match="no field 'Nmes'"):
        output.check_format("{{.Nmes}}", ["ID", "Names"])


def test_truncate_ends_in_an_ellipsis() -> None:
    assert output.truncate("sh -c 'echo hello; sleep 1'", 10) == "sh -c 'ec…"
    assert output.truncate("short", 10) == "short"
