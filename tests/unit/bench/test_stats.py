"""The benchmark's pure helpers: percentiles, summaries and the table."""

from __future__ import annotations

import pytest

from bench.run import server_timing
from bench.stats import Row, format_table, percentile, ratio, summarize


def test_percentile_interpolates_like_numpy_linear() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([5.0], 95) == 5.0


def test_percentile_ignores_input_order_and_rejects_bad_input() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize_converts_seconds_to_milliseconds() -> None:
    summary = summarize([0.001, 0.002, 0.003])
    assert summary.n == 3
    assert summary.p50 == pytest.approx(2.0)
    assert summary.min == pytest.approx(1.0)
    assert summary.max == pytest.approx(3.0)
    assert summary.mean == pytest.approx(2.0)


def test_row_ratios_and_table() -> None:
    row = Row("create", summarize([0.2, 0.4]), summarize([0.1, 0.2]), "create+start")
    assert row.ratio_p50 == pytest.approx(2.0)
    assert ratio(1.0, 0.0) is None
    table = format_table([row])
    assert "create" in table
    assert "2.00x" in table
    assert row.as_dict()["dockyard_ms"]["n"] == 2


def test_server_timing_header_parsing() -> None:
    assert server_timing({"Server-Timing": "app;dur=12.5"}) == 12.5
    assert server_timing({"X-Runtime": "0.25"}) == 250.0
    assert server_timing({}) is None
