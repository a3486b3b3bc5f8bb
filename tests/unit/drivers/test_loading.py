"""Drivers are found by name through entry points; an unknown name names the choices."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from dockyard.cmd.host_agent import choose_drivers
from dockyard.config import opts
from dockyard.drivers import docker_factories, loading
from tests.fakes.clock import FakeClock


def test_the_docker_drivers_are_installed_under_their_names() -> None:
    assert loading.factory(loading.RUNTIME_GROUP, "docker") is docker_factories.runtime_driver
    assert loading.factory(loading.IMAGE_GROUP, "docker") is docker_factories.image_driver
    assert loading.factory(loading.IMAGE_GROUP, "glance") is docker_factories.glance_image_driver


def test_an_unknown_name_lists_what_is_installed() -> None:
    with pytest.raises(loading.UnknownDriver) as caught:
        loading.factory(loading.IMAGE_GROUP, "podman")
    assert caught.value.choices == ["docker", "glance"]
    assert str(caught.value) == (
        "no dockyard.drivers.image driver is named 'podman'; the installed ones are: docker, glance"
    )


def test_a_value_is_made_once_per_agent_and_shared_by_its_drivers() -> None:
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    context = loading.DriverContext("h1", "unix:///x.sock", 5, "127.0.0.1", FakeClock(), "inst-1")
    first = context.shared("client", make)
    assert context.shared("client", make) is first
    other = loading.DriverContext("h2", "unix:///x.sock", 5, "127.0.0.1", FakeClock(), "inst-1")
    assert other.shared("client", make) is not first
    assert len(made) == 2


def _conf(**compute: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    opts.register_all(conf, libraries_too=False)
    conf([], default_config_files=[])
    for name, value in compute.items():
        conf.set_override(name, value, group="compute")
    return conf


def test_the_configured_drivers_are_chosen() -> None:
    chosen = choose_drivers(_conf())
    assert chosen.runtime is docker_factories.runtime_driver
    assert chosen.image is docker_factories.image_driver
    assert chosen.named_images == {}


def test_glance_in_the_image_driver_list_adds_its_driver() -> None:
    conf = _conf()
    conf.set_override("image_driver_list", ["docker", "glance"])
    chosen = choose_drivers(conf)
    assert chosen.named_images == {"glance": docker_factories.glance_image_driver}


def test_a_default_image_driver_outside_the_list_stops_the_process() -> None:
    conf = _conf()
    conf.set_override("default_image_driver", "glance")
    with pytest.raises(SystemExit, match="not in image_driver_list"):
        choose_drivers(conf)


@pytest.mark.parametrize("option", ["runtime_driver", "image_driver"])
def test_an_unknown_driver_stops_the_process_naming_the_choices(option: str) -> None:
    with pytest.raises(SystemExit) as caught:
        choose_drivers(_conf(**{option: "podman"}))
    choices = "docker" if option == "runtime_driver" else "docker, glance"
    assert str(caught.value) == (
        f"[compute] {option} = 'podman' is not an installed driver; the choices are: {choices}"
    )
