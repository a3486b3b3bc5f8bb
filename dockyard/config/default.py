"""[DEFAULT]: identity of this node, where data lives, container defaults and bounds."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from oslo_config import cfg

opts = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<hostname>",
        help="Name of this compute host, as shown in the API and used by the scheduler.",
    ),
    cfg.StrOpt(
        "data_dir",
        default="/var/lib/dockyard",
        help="Directory holding the SQLite database and other local state.",
    ),
    cfg.StrOpt(
        "auth_strategy",
        default="local",
        choices=["noauth", "keystone", "local"],
        help="How API requests are authenticated. 'noauth' accepts any token and acts "
        "as one admin user in one project; 'keystone' validates tokens with Keystone "
        "(keystonemiddleware, [keystone_authtoken]); 'local' uses Dockyard's own users, "
        "projects and tokens (a Keystone-v3 compatible subset under /v3, see [identity]); "
        "`dockyard up` then creates an admin user on first start.",
    ),
    cfg.StrOpt(
        "noauth_project_id",
        default="dockyard",
        help="Project id used for every request under auth_strategy=noauth.",
    ),
    cfg.StrOpt(
        "noauth_user_id",
        default="admin",
        help="User id used for every request under auth_strategy=noauth.",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=25,
        min=1,
        help="Seconds after its last heartbeat when a compute service counts as down: "
        "it gets no new containers and actions on its containers fail at once with 503. "
        "Keep it above twice [compute] heartbeat_interval plus a few seconds of slack "
        "(the default is 2 x 10 + 5); Zun's default is 180.",
    ),
    cfg.StrOpt(
        "default_availability_zone",
        default="nova",
        help="Zone shown for a service that has none recorded.",
    ),
    cfg.FloatOpt(
        "default_cpu",
        default=1.0,
        min=0.01,
        help="vCPUs given to a container that does not ask for a number.",
    ),
    cfg.IntOpt(
        "default_memory",
        default=512,
        min=4,
        help="Memory (MiB) given to a container that does not ask for an amount.",
    ),
    cfg.FloatOpt("minimum_cpus", default=0.1, min=0.01, help="Smallest cpu value accepted."),
    cfg.FloatOpt("maximum_cpus", default=16.0, min=0.01, help="Largest cpu value accepted."),
    cfg.IntOpt("minimum_memory", default=4, min=4, help="Smallest memory (MiB) accepted."),
    cfg.IntOpt("maximum_memory", default=8192, min=4, help="Largest memory (MiB) accepted."),
    cfg.IntOpt("minimum_disk", default=1, min=1, help="Smallest disk (GiB) accepted."),
    cfg.IntOpt("maximum_disk", default=160, min=1, help="Largest disk (GiB) accepted."),
    cfg.StrOpt(
        "default_image_pull_policy",
        default="ifnotpresent",
        choices=["always", "ifnotpresent", "never"],
        help="Pull policy for containers created without one: like `docker run`, only "
        "pull images the engine does not already hold.",
    ),
    cfg.BoolOpt(
        "log_json",
        default=False,
        help="Write each log line as one JSON object (time, level, logger, message, "
        "process, thread, request_id, user_id, project_id, and the audit fields of "
        "audit lines) instead of text. Either way every line logged for an API request "
        "names its request id, the agent's lines for that request included.",
    ),
    cfg.StrOpt(
        "auth_encryption_key",
        secret=True,
        help="Secret (at least 32 characters) from which the key that encrypts registry "
        "passwords in the database is derived. There is no built-in default: `dockyard up` "
        "generates a random one on first start and keeps it in data_dir/registry.key "
        "(mode 0600); dockyard-api refuses to start without it. Changing it makes stored "
        "registry passwords unreadable (set them again with `registry update`).",
    ),
]


@dataclass(frozen=True)
class DefaultConfig:
    host: str
    data_dir: str
    auth_strategy: str
    noauth_project_id: str
    noauth_user_id: str
    service_down_time: int
    default_availability_zone: str
    default_cpu: float
    default_memory: int
    minimum_cpus: float
    maximum_cpus: float
    minimum_memory: int
    maximum_memory: int
    minimum_disk: int
    maximum_disk: int
    default_image_pull_policy: str
    log_json: bool = False
    auth_encryption_key: str | None = field(default=None, repr=False)


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts)


def view(conf: cfg.ConfigOpts) -> DefaultConfig:
    return DefaultConfig(**{o.dest: conf[o.dest] for o in opts})
