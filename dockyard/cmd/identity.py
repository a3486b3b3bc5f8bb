"""Wiring for auth_strategy = local: the signing key, the identity services, bootstrap."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shlex
import stat
from pathlib import Path

from oslo_config import cfg

from dockyard.api.app import DockyardApp, WSGIApp
from dockyard.api.auth import HeaderAuth
from dockyard.api.block_storage.mount import with_volume_api
from dockyard.api.identity_v3 import REGION, IdentityApp, own_network
from dockyard.api.local_auth import LocalTokenMiddleware, PrefixDispatcher
from dockyard.api.neutron.mount import with_network_api
from dockyard.api.services import Services
from dockyard.config import api, default, identity
from dockyard.db.repositories.identity import IdentityRepository
from dockyard.db.repositories.login_attempts import LoginAttemptRepository
from dockyard.db.session import Database
from dockyard.domain.identity import DEFAULT_DOMAIN_NAME
from dockyard.service.identity import Bootstrap, IdentityAdmin, IdentityService
from dockyard.service.passwords import PasswordHasher
from dockyard.service.ratelimit import AttemptLimiter
from dockyard.service.tokens import KEY_BYTES, TokenSigner

OPENRC = "admin-openrc"


class KeyFileError(RuntimeError):
    """The signing key file is unusable; the service must not start."""


def _owner_only(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} is accessible to other users (mode {stat.filemode(mode)}); "
            f"run `chmod 600 {path}`"
        )


def _read_key(path: Path) -> bytes:
    _owner_only(path)
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError as exc:
        raise KeyFileError(f"{path} does not hold a hex-encoded key") from exc
    if len(key) < KEY_BYTES:
        raise KeyFileError(f"{path} holds a key shorter than {KEY_BYTES} bytes")
    return key


def load_or_create_key(path: Path) -> bytes:
    """The token signing key; a new random one (mode 0600) when the file is missing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
    return key


def key_path(conf: cfg.ConfigOpts) -> Path:
    configured = identity.view(conf).key_file
    return Path(configured or Path(default.view(conf).data_dir) / "identity.key")


def identity_admin(conf: cfg.ConfigOpts, db: Database) -> IdentityAdmin:
    hasher = PasswordHasher(identity.view(conf).password_hash_rounds)
    return IdentityAdmin(IdentityRepository(db), hasher)


def identity_service(conf: cfg.ConfigOpts, db: Database) -> IdentityService:
    settings = identity.view(conf)
    window = dt.timedelta(seconds=settings.failure_window)
    attempts = LoginAttemptRepository(db)

    def limiter(scope: str, limit: int) -> AttemptLimiter:
        return AttemptLimiter(attempts, scope, limit, window, db.clock)

    return IdentityService(
        IdentityRepository(db),
        TokenSigner(load_or_create_key(key_path(conf))),
        PasswordHasher(settings.password_hash_rounds),
        dt.timedelta(seconds=settings.token_expiration),
        per_user=limiter("user", settings.max_failures_per_user),
        per_address=limiter("address", settings.max_failures_per_address),
        clock=db.clock,
    )


def local_app(conf: cfg.ConfigOpts, services: Services, db: Database) -> WSGIApp:
    """``/v3`` to Dockyard's Keystone subset; the Zun API, the ``/v2.0`` network subset and
    the ``/volume`` block-storage subset behind the token middleware."""
    tokens = identity_service(conf, db)
    # Admin is whoever passes the policy rule context_is_admin (default role:admin).
    auth = HeaderAuth(services.authorizer.is_admin)
    apis = with_network_api(DockyardApp(services, auth), services, auth)
    apis = with_volume_api(apis, services, auth)
    network = own_network if services.serve_network_api else services.network_endpoint
    identity = IdentityApp(tokens, network=network)
    return PrefixDispatcher("/v3", identity, LocalTokenMiddleware(apis, tokens))


def auth_url(conf: cfg.ConfigOpts) -> str:
    settings = api.view(conf)
    host = settings.host_ip
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"{settings.scheme}://{host}:{settings.port}/v3"


def openrc(created: Bootstrap, url: str) -> str:
    values = {
        "OS_AUTH_TYPE": "password",
        "OS_AUTH_URL": url,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": created.user.name,
        "OS_PASSWORD": created.password,
        "OS_PROJECT_NAME": created.project.name,
        "OS_USER_DOMAIN_NAME": DEFAULT_DOMAIN_NAME,
        "OS_PROJECT_DOMAIN_NAME": DEFAULT_DOMAIN_NAME,
        "OS_REGION_NAME": REGION,
    }
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())


def bootstrap_admin(conf: cfg.ConfigOpts, db: Database) -> tuple[Path, str] | None:
    """On first start, create the admin and write ``<data_dir>/admin-openrc`` (0600).

    Returns the file and its text (to print once), or None when users exist already.
    """
    created = identity_admin(conf, db).bootstrap()
    if created is None:
        return None
    text = openrc(created, auth_url(conf))
    path = Path(default.view(conf).data_dir) / OPENRC
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path, text
