"""The allowed-state table against an independent transcription of spec §6."""

from __future__ import annotations

import pytest

from dockyard.domain.states import ALLOWED, ENGINE_STATUS, Status, allowed, from_engine

STATUS_NAMES = (
    "Creating", "Created", "Running", "Paused", "Stopped", "Restarting", "Rebuilding",
    "Deleting", "Deleted", "Error", "Unknown", "Dead",
)  # fmt: skip

# Spec §6, copied row by row (status names exactly as the spec capitalises them).
EXPECTED: dict[str, set[str]] = {
    "start": {"Created", "Stopped", "Error"},
    "stop": {"Running"},
    "reboot": {"Created", "Running", "Stopped", "Error"},
    "rebuild": {"Created", "Running", "Stopped", "Error"},
    "pause": {"Running"},
    "unpause": {"Paused"},
    "kill": {"Running"},
    "execute": {"Running"},
    "execute_resize": {"Running"},
    "attach": {"Running"},
    "resize": {"Running"},
    "top": {"Running"},
    "stats": {"Running"},
    "logs": {"Created", "Error", "Paused", "Running", "Stopped", "Unknown"},
    "get_archive": {"Created", "Paused", "Running", "Stopped"},
    "put_archive": {"Created", "Paused", "Running", "Stopped"},
    "commit": {"Running", "Stopped", "Paused"},
    "update": {"Created", "Running", "Stopped", "Paused"},
    "resize_container": {"Created", "Running", "Stopped", "Paused"},
    "add_security_group": {"Created", "Running", "Stopped", "Paused"},
    "remove_security_group": {"Created", "Running", "Stopped", "Paused"},
    # Spec §11.4/11.5: no state check (the reservation refuses a busy record).
    "network_attach": set(STATUS_NAMES),
    "network_detach": set(STATUS_NAMES),
    "delete": {"Created", "Error", "Stopped", "Deleted", "Dead"},
    "delete_force": {
        "Created",
        "Creating",
        "Error",
        "Running",
        "Stopped",
        "Unknown",
        "Deleted",
        "Dead",
        "Restarting",
        "Rebuilding",
        "Deleting",
    },
    "delete_after_stop": {"Running", "Created", "Error", "Stopped", "Deleted", "Dead"},
}

# Spec §5.1: the twelve statuses.
STATUSES = [
    "Creating",
    "Created",
    "Running",
    "Paused",
    "Stopped",
    "Restarting",
    "Rebuilding",
    "Deleting",
    "Deleted",
    "Error",
    "Unknown",
    "Dead",
]

CELLS = [(action, status) for action in EXPECTED for status in STATUSES]


def test_status_enum_matches_the_spec() -> None:
    assert [str(s) for s in Status] == STATUSES


def test_the_table_has_exactly_the_spec_actions() -> None:
    assert set(ALLOWED) == set(EXPECTED)


@pytest.mark.parametrize(("action", "status"), CELLS, ids=[f"{a}-{s}" for a, s in CELLS])
def test_every_cell_of_the_table(action: str, status: str) -> None:
    expected = status in EXPECTED[action]

    assert allowed(action, Status(status)) is expected
    assert allowed(action, status) is expected  # the plain string works too


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_no_action_is_allowed_without_a_status(action: str) -> None:
    assert allowed(action, None) is False


@pytest.mark.parametrize("action", ["delete", "delete_force", "delete_after_stop"])
def test_paused_is_never_deletable(action: str) -> None:
    assert not allowed(action, Status.PAUSED)


@pytest.mark.parametrize("action", ["", "Start", "destroy", "rename", "network_list", "show"])
def test_unknown_actions_raise_key_error(action: str) -> None:
    with pytest.raises(KeyError, match="unknown action"):
        allowed(action, Status.RUNNING)


def test_unknown_status_string_is_rejected() -> None:
    with pytest.raises(ValueError):
        allowed("start", "running")  # statuses are capitalised exactly


# `docker inspect` State.Status values and what each means for us (spec §5.1).
ENGINE_EXPECTED = {
    "created": Status.CREATED,
    "running": Status.RUNNING,
    "paused": Status.PAUSED,
    "restarting": Status.RESTARTING,
    "removing": Status.DELETING,
    "exited": Status.STOPPED,
    "dead": Status.DEAD,
}


@pytest.mark.parametrize(("engine", "status"), sorted(ENGINE_EXPECTED.items()))
def test_from_engine_maps_every_docker_state(engine: str, status: Status) -> None:
    assert from_engine(engine) is status
    assert from_engine(engine.upper()) is status
    assert from_engine(engine.capitalize()) is status


def test_engine_mapping_covers_every_docker_state() -> None:
    assert ENGINE_STATUS == ENGINE_EXPECTED


@pytest.mark.parametrize("engine", ["", "unknown", "stopped", "up", "exit", "running "])
def test_from_engine_unknown_states(engine: str) -> None:
    assert from_engine(engine) is Status.UNKNOWN
