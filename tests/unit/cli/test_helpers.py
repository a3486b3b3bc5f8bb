"""Pure pieces of the verbs: log timestamps, cp paths, stats lines, exit codes, completion."""

import datetime as dt

import pytest

from dockyard.cli import app, completion, containers, copy, logs, monitoring
from dockyard.cli.errors import UsageError

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def test_engine_timestamps_order_to_the_nanosecond() -> None:
    early = logs.timestamp_key("2026-12-03T09:59:59.5Z")
    late = logs.timestamp_key("2026-12-03T09:59:59.500000001Z")
    assert early is not None and late is not None and early < late
    assert early == (int(NOW.timestamp()) - 1, 500_000_000)
    assert logs.timestamp_key("2026-12-03T10:00:00+01:00") == (int(NOW.timestamp()) - 3600, 0)
    assert logs.timestamp_key("hello") is None


@pytest.mark.parametrize(
    ("text", "epoch"),
    [("1796290826", 1796290826), ("10m", int(NOW.timestamp()) - 600),
     ("2026-12-03T09:00:00Z", int(NOW.timestamp()) - 3600)],
)  # fmt: skip
def test_since_takes_epochs_durations_and_times(text: str, epoch: int) -> None:
    assert logs.parse_since(text, NOW) == epoch


def test_a_bad_since_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        logs.parse_since("yesterday", NOW)


@pytest.mark.parametrize(
    ("spec", "parts"),
    [("web:/etc/hosts", ("web", "/etc/hosts")), ("/tmp/a:b", (None, "/tmp/a:b")),
     ("./x:y", (None, "./x:y")), ("notes.txt", (None, "notes.txt")), ("-", (None, "-"))],
)  # fmt: skip
def test_cp_tells_container_paths_from_local_ones(spec: str, parts: tuple[str | None, str]) -> None:
    assert copy.split(spec) == parts


def test_exit_code_comes_from_the_engine_summary() -> None:
    assert containers.exit_code({"status_detail": "Exited (3) 2 seconds ago"}) == 3
    assert containers.exit_code({"status_detail": "Up 3 minutes"}) is None
    assert containers.exit_code({}) is None
    assert containers.short_id({"uuid": "5e1f0c2a-8d7b-4c55-9a61-0d3f2b7c9e10"}) == "5e1f0c2a8d7b"


def test_a_stats_line_reads_like_dockers() -> None:
    snapshot = {"CONTAINER": "web", "CPU %": 1.234, "MEM USAGE(MiB)": 0.5, "MEM LIMIT(MiB)": 64,
                "MEM %": 0.78, "BLOCK I/O(B)": "4096/0", "NET I/O(B)": "1500/250"}  # fmt: skip
    row = monitoring.stats_row({"uuid": "5e1f0c2a-8d7b-4c55-9a61-0d3f2b7c9e10"}, snapshot)
    assert row == {"ID": "5e1f0c2a8d7b", "Name": "web", "CPUPerc": "1.23%",
                   "MemUsage": "512KiB / 64MiB", "MemPerc": "0.78%", "NetIO": "1.5kB / 250B",
                   "BlockIO": "4.1kB / 0B"}  # fmt: skip


def test_completion_knows_every_command_and_its_flags() -> None:
    table = completion.commands(app.build_parser())
    assert "--os-cloud" in table[""]
    assert {"-d", "-it", "--rm"} - set(table["run"]) == {"-it"}  # -i and -t combine
    assert {"-a", "-q", "--filter", "--format"} <= set(table["ps"])
    assert "up" in table and "completion" in table
    assert "complete -F _dockyard dockyard" in completion.bash_script(table)
    assert completion.zsh_script(table).startswith("#compdef dockyard")
