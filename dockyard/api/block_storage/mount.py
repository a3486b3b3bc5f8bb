"""Puts the ``/volume`` block-storage subset beside an application serving everything else."""

from __future__ import annotations

from dockyard.api.app import WSGIApp
from dockyard.api.auth import Authenticator
from dockyard.api.block_storage.app import BlockStorageApp
from dockyard.api.block_storage.views import PREFIX
from dockyard.api.local_auth import PrefixDispatcher
from dockyard.api.services import Services
from dockyard.domain.models import RequestContext


def with_volume_api(other: WSGIApp, services: Services, auth: Authenticator) -> WSGIApp:
    """``/volume`` to the block-storage subset, the rest to ``other``. Callers whose only
    role in the project is ``reader`` (the policy rule ``reader_only``) may read, not write."""

    def reader_only(ctx: RequestContext) -> bool:
        return services.authorizer.allows(ctx, "reader_only")

    app = BlockStorageApp(
        services.volumes, services.quotas, auth, services.hosts.default_zone, reader_only
    )
    return PrefixDispatcher(PREFIX, app, other)
