"""The commands people type answer at once and quietly: `--help` of `dockyard` and of
every `dockyard-manage` subcommand, in a fresh interpreter each."""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.cmd import manage

BIN = Path(sys.executable).parent

#: CPU seconds a command may take to answer; the machine's load does not count in CPU time.
BUDGET = 1.0


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    cpu: float
    wall: float


def run(argv: list[str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(done.returncode, done.stdout, done.stderr, cpu, wall)


def best_of_three(argv: list[str]) -> Run:
    """The cheapest of up to three runs (a busy machine can slow one down)."""
    runs = [run(argv)]
    while runs[-1].cpu >= BUDGET and len(runs) < 3:
        runs.append(run(argv))
    return min(runs, key=lambda r: r.cpu)


def _subcommands(parser: argparse.ArgumentParser, path: list[str]) -> Iterator[list[str]]:
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _subcommands(child, [*path, name])


MANAGE = list(_subcommands(manage._parser(), []))

COMMANDS = [
    ["dockyard"],
    ["dockyard", "--help"],
    ["dockyard", "up", "--help"],
    *(["dockyard-manage", *path, "--help"] for path in MANAGE),
]


def test_every_manage_subcommand_is_checked() -> None:
    assert ["user", "set-password"] in MANAGE
    assert ["db", "upgrade"] in MANAGE
    assert len(MANAGE) >= 15


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_help_is_quick_and_quiet(argv: list[str]) -> None:
    result = best_of_three([str(BIN / argv[0]), *argv[1:]])
    assert result.code == 0, result.stderr
    assert "usage:" in result.stdout
    assert "deprecat" not in result.stderr.lower(), result.stderr
    assert result.cpu < BUDGET, f"{argv} took {result.cpu:.2f} s CPU ({result.wall:.2f} s wall)"


def test_dockyard_help_lists_its_subcommands() -> None:
    result = run([str(BIN / "dockyard"), "--help"])
    listed = set(re.findall(r"^ {2,}(\w+) ", result.stdout, re.MULTILINE))
    assert {"up", "run", "ps", "logs", "exec", "login"} <= listed, result.stdout
    assert "Run the all-in-one Dockyard service" in result.stdout


def test_an_unknown_subcommand_is_named() -> None:
    result = run([str(BIN / "dockyard"), "sail"])
    assert result.code == 125  # as docker answers a command it does not know
    assert "invalid choice: 'sail'" in result.stderr


def test_manage_opts_is_quiet() -> None:
    result = run([str(BIN / "dockyard-manage"), "opts"])
    assert result.code == 0, result.stderr
    assert "[compute]" in result.stdout and "[keystone_authtoken]" in result.stdout
    assert "deprecat" not in result.stderr.lower(), result.stderr
