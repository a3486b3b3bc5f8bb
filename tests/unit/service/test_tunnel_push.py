"""TunnelPush: the hosts of a network are told at once when a member comes or goes."""

from __future__ import annotations

from collections.abc import Collection
from typing import cast

from dockyard.domain.errors import ServiceBusy
from dockyard.rpc.api import ComputeAPI
from dockyard.service.tunnel_push import TunnelPush
from tests.fakes.networks import FakeNetworks


class Members(FakeNetworks):
    def __init__(self, hosts: dict[str, set[str]]) -> None:
        super().__init__()
        self.hosts = hosts

    def member_hosts(self, network_ids: Collection[str]) -> set[str]:
        return {h for n in network_ids for h in self.hosts.get(n, set())}


class Agents:
    def __init__(self, down: Collection[str] = ()) -> None:
        self.told: list[str] = []
        self.down = set(down)

    def networks_changed(self, host: str) -> None:
        if host in self.down:
            raise ServiceBusy(f"The agent of host {host} is not reachable.")
        self.told.append(host)


def test_every_host_with_members_is_told_but_the_skipped_one() -> None:
    agents = Agents()
    push = TunnelPush(Members({"n1": {"h1", "h2"}, "n2": {"h3"}}), cast(ComputeAPI, agents))
    push(["n1", "n2"], skip="h2")
    assert agents.told == ["h1", "h3"]


def test_the_leaving_host_is_told_too_and_an_unreachable_one_is_skipped() -> None:
    agents = Agents(down={"h1"})
    push = TunnelPush(Members({"n1": {"h1", "h2"}}), cast(ComputeAPI, agents))
    push(["n1"], also=("h9",))
    assert agents.told == ["h2", "h9"]


def test_no_networks_tell_no_one() -> None:
    agents = Agents()
    TunnelPush(Members({"n1": {"h1"}}), cast(ComputeAPI, agents))([], also=("h1",))
    assert agents.told == []
