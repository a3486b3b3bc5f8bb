"""Puts the ``/v2.0`` subset beside an application serving everything else."""

from __future__ import annotations

from dockyard.api.app import WSGIApp
from dockyard.api.auth import Authenticator
from dockyard.api.local_auth import PrefixDispatcher
from dockyard.api.neutron.app import PREFIX, NeutronApp
from dockyard.api.services import Services
from dockyard.domain.models import RequestContext


def with_network_api(other: WSGIApp, services: Services, auth: Authenticator) -> WSGIApp:
    """``/v2.0`` to the network subset, the rest to ``other``. Callers whose only role in
    the project is ``reader`` (the policy rule ``reader_only``) may read, not write.
    Under the neutron network driver there is no subset: ``other`` serves everything."""
    if not services.serve_network_api:
        return other

    def reader_only(ctx: RequestContext) -> bool:
        return services.authorizer.allows(ctx, "reader_only")

    return PrefixDispatcher(PREFIX, NeutronApp(services.networks, auth, reader_only), other)
