"""[identity]: Dockyard's own users and tokens (auth_strategy = local)."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "identity"

opts = [
    cfg.IntOpt(
        "token_expiration",
        default=3600,
        min=1,
        max=7 * 24 * 3600,
        help="Seconds a token issued by POST /v3/auth/tokens stays valid.",
    ),
    cfg.StrOpt(
        "key_file",
        default="",
        sample_default="<data_dir>/identity.key",
        help="File holding the secret key that signs tokens; created (mode 0600) with a "
        "random key on first start. Empty means identity.key in data_dir. Replacing the "
        "key invalidates every token issued before.",
    ),
    cfg.IntOpt(
        "max_failures_per_user",
        default=5,
        min=1,
        help="Failed logins for one user name within failure_window seconds after which "
        "further attempts for that name are refused with 429 until the window has passed. "
        "Counted in the database: the limit holds across all API processes together.",
    ),
    cfg.IntOpt(
        "max_failures_per_address",
        default=20,
        min=1,
        help="Failed logins from one client address within failure_window seconds after "
        "which further attempts from that address are refused with 429 (across all API "
        "processes together).",
    ),
    cfg.IntOpt(
        "failure_window",
        default=60,
        min=1,
        max=86400,
        help="Length, in seconds, of the window in which failed logins count. A window "
        "starts at a user's (or address's) first failure and blocks, once full, until "
        "it ends; a successful login clears the user's count.",
    ),
    cfg.IntOpt(
        "password_hash_rounds",
        default=12,
        min=4,
        max=31,
        help="bcrypt cost factor for new password hashes (each step doubles the work).",
    ),
]


@dataclass(frozen=True)
class IdentityConfig:
    token_expiration: int
    key_file: str
    max_failures_per_user: int
    max_failures_per_address: int
    failure_window: int
    password_hash_rounds: int


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> IdentityConfig:
    return IdentityConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
