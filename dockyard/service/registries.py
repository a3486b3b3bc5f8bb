"""Private registries: stored credentials and their use for pulls (api-other §15)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from dockyard.db.repositories.registries import EVERYWHERE, RegistryRepository, Scope
from dockyard.domain.errors import Conflict
from dockyard.domain.models import RequestContext
from dockyard.domain.registries import Registry, RegistryAuth
from dockyard.service.secrets import SecretBox, Undecryptable

#: Fields a create or an update may set.
FIELDS = ("name", "domain", "username", "password")


def scope(ctx: RequestContext, widen: bool) -> Scope:
    """Rows the caller sees (api-other §3.2): all for an admin who widens, else own project."""
    if ctx.is_admin and widen:
        return EVERYWHERE
    return Scope(project_id=ctx.project_id or None, user_id=ctx.user_id)


class RegistryService:
    def __init__(self, registries: RegistryRepository, box: SecretBox, max_limit: int) -> None:
        self.registries = registries
        self.box = box
        self.max_limit = max_limit

    def limit(self, requested: int | None) -> int:
        return min(requested or self.max_limit, self.max_limit)

    def create(self, ctx: RequestContext, fields: Mapping[str, Any]) -> Registry:
        password = fields.get("password")
        return self.registries.create(
            Registry(
                uuid=str(uuidlib.uuid4()),
                name=fields.get("name"),
                domain=str(fields["domain"]),
                username=fields.get("username"),
                secret=self.box.seal(password) if password is not None else None,
                project_id=ctx.project_id,
                user_id=ctx.user_id,
            )
        )

    def get(self, ctx: RequestContext, ident: str) -> Registry:
        # Admins address any project's registry by UUID or name (api-other §3.3).
        return self.registries.get(ident, scope(ctx, widen=True))

    def page(
        self,
        ctx: RequestContext,
        filters: Mapping[str, str],
        limit: int | None,
        marker: str | None,
        sort_key: str,
        sort_dir: str,
    ) -> list[Registry]:
        return self.registries.page(
            scope(ctx, widen=ctx.all_projects),
            filters,
            self.limit(limit),
            marker,
            sort_key,
            sort_dir,
        )

    def update(self, uuid: str, fields: Mapping[str, Any]) -> Registry:
        values = {k: v for k, v in fields.items() if k in FIELDS and k != "password"}
        if fields.get("password") is not None:
            values["secret"] = self.box.seal(fields["password"])
        return self.registries.update(uuid, values)

    def delete(self, uuid: str) -> None:
        self.registries.delete(uuid)

    # -- use by containers --------------------------------------------------

    def for_container(self, ctx: RequestContext, ident: str) -> tuple[Registry, RegistryAuth]:
        """The caller's own registry ``ident`` (another project's is a 404) and its auth."""
        registry = self.registries.get(ident, scope(ctx, widen=False))
        return registry, self.auth(registry)

    def auth_of(self, registry_id: str | None) -> RegistryAuth | None:
        """The auth of a container's recorded registry (None for none)."""
        if registry_id is None:
            return None
        return self.auth(self.registries.get(registry_id, EVERYWHERE))

    def auth(self, registry: Registry) -> RegistryAuth:
        password = None
        if registry.secret is not None:
            try:
                password = self.box.open(registry.secret)
            except Undecryptable:
                raise Conflict(
                    f"The password of registry {registry.uuid} cannot be decrypted: it was "
                    "stored under another [DEFAULT] auth_encryption_key. Set it again with "
                    "`registry update --password`."
                ) from None
        return RegistryAuth(registry.domain, registry.username, password)
