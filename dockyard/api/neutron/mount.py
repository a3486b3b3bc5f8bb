"""Puts the ``/v2.0`` subset beside an application serving everything else."""

from __future__ import annotations

from dockyard.api.app import WSGIApp
from dockyard.api.auth import Authenticator
from dockyard.api.local_auth import PrefixDispatcher
from dockyard.api.neutron.app import PREFIX, NeutronApp
from dockyard.service.networks import NetworkService


def with_network_api(other: WSGIApp, networks: NetworkService, auth: Authenticator) -> WSGIApp:
    return PrefixDispatcher(PREFIX, NeutronApp(networks, auth), other)
