"""[compute]: the per-host agent and how its capacity is counted."""

from __future__ import annotations

from dataclasses import dataclass, field

from oslo_config import cfg

GROUP = "compute"

opts = [
    cfg.IntOpt(
        "workers",
        default=8,
        min=1,
        max=256,
        help="Container operations an agent runs at once. Requests beyond this plus "
        "'queue_size' are refused with 503 instead of queueing without bound.",
    ),
    cfg.IntOpt(
        "queue_size",
        default=256,
        min=0,
        help="Operations an agent accepts while all its workers are busy.",
    ),
    cfg.IntOpt(
        "sync_interval",
        default=10,
        min=1,
        help="Seconds between two reconciliations of the database with the engine.",
    ),
    cfg.IntOpt(
        "heartbeat_interval",
        default=10,
        min=1,
        help="Seconds between two heartbeats of the agent (a fresh inventory report), "
        "sent from their own thread so a slow reconciliation never delays them. "
        "[DEFAULT] service_down_time must exceed twice this.",
    ),
    cfg.IntOpt(
        "lost_create_after",
        default=120,
        min=1,
        help="Seconds after which a Creating record that this agent is not working on "
        "is taken as a lost create request and set to Error (its claim released). "
        "The conductor applies the same window to creates stranded on a host that "
        "is down (checked every sync_interval).",
    ),
    cfg.IntOpt(
        "stuck_task_after",
        default=120,
        min=1,
        help="Seconds after which a task state this agent is not working on is taken as "
        "an operation refused or lost in transit and repaired from the engine's view.",
    ),
    cfg.FloatOpt(
        "cpu_allocation_ratio",
        default=16.0,
        min=0.0,
        help="vCPUs the scheduler may place per physical CPU.",
    ),
    cfg.FloatOpt(
        "ram_allocation_ratio",
        default=1.5,
        min=0.0,
        help="Memory the scheduler may place per byte of physical memory.",
    ),
    cfg.IntOpt(
        "reserved_host_memory_mb", default=512, min=0, help="Memory kept back for the host itself."
    ),
    cfg.IntOpt(
        "disk_total_gib",
        default=0,
        min=0,
        help="GiB of disk this host offers the scheduler: containers' 'disk' and the "
        "sizes of the volumes placed on it are claimed against it. 0, the default, "
        "offers the size of the filesystem holding the engine's data root. Set it when "
        "volumes live on another filesystem ([volume] volumes_dir; their files are "
        "sparse) or to keep part of the disk for the host.",
    ),
    cfg.StrOpt("availability_zone", default="nova", help="Availability zone of this host."),
    cfg.IntOpt(
        "max_archive_size",
        default=16 * 1024 * 1024,
        min=1024,
        help="Largest tar archive, in bytes, that get_archive copies out of a container; "
        "a larger one is refused with 413 as soon as the stream passes it, so neither "
        "the agent nor the API ever holds more. put_archive is bounded by [api] "
        "max_request_body_size instead.",
    ),
    cfg.StrOpt(
        "runtime_driver",
        default="docker",
        help="Runtime driver of this host's agent: the name of an entry point in the "
        "'dockyard.drivers.runtime' group. An unknown name stops the agent at start.",
    ),
    cfg.StrOpt(
        "image_driver",
        default="docker",
        help="Image driver of this host's agent: the name of an entry point in the "
        "'dockyard.drivers.image' group. An unknown name stops the agent at start.",
    ),
    cfg.PortOpt(
        "metrics_port",
        default=0,
        help="Port on which dockyard-compute serves its Prometheus metrics at /metrics "
        "(unauthenticated); 0, the default, serves none. `dockyard up` ignores it: its "
        "API's /metrics shows the agent's metrics too.",
    ),
    cfg.StrOpt(
        "metrics_host",
        default="127.0.0.1",
        help="Address dockyard-compute's metrics listener binds (see metrics_port); "
        "0.0.0.0 lets a Prometheus server on another machine scrape it.",
    ),
    cfg.IntOpt(
        "image_gc_interval",
        default=300,
        min=0,
        help="Seconds between two image garbage collections of an agent (checked in its "
        "periodic loop, so at most every sync_interval); 0 turns collection off. "
        "Collection removes only images Dockyard pulled on that host that no container "
        "of the engine uses and that are not pinned (docs/images.md).",
    ),
    cfg.IntOpt(
        "image_gc_high_percent",
        default=85,
        min=1,
        max=100,
        help="Collection starts when the image store is fuller than this percentage: of "
        "the filesystem holding the engine's data root, or of image_gc_max_bytes.",
    ),
    cfg.IntOpt(
        "image_gc_low_percent",
        default=75,
        min=0,
        max=99,
        help="Collection removes least recently used images until the store is at most "
        "this full (same measure as image_gc_high_percent, which it must be below).",
    ),
    cfg.IntOpt(
        "image_gc_max_bytes",
        default=0,
        min=0,
        help="When set, collection measures the images Dockyard pulled on the host (their "
        "sizes as `docker image ls` shows them, each image once) against this many bytes, "
        "an image cache budget, instead of the filesystem holding the engine's data root. "
        "0: the filesystem, measurable only when the engine is reached through a local "
        "socket; otherwise collection does nothing.",
    ),
    cfg.ListOpt(
        "image_gc_pinned",
        default=[],
        help="Image references (repo:tag; a missing tag means latest) that collection "
        "never removes.",
    ),
    cfg.IntOpt(
        "image_gc_min_age",
        default=120,
        min=0,
        help="Seconds after a pull or a container create during which collection keeps "
        "that image, so a create that just found it present still finds it.",
    ),
]


@dataclass(frozen=True)
class ComputeConfig:
    workers: int
    queue_size: int
    sync_interval: int
    heartbeat_interval: int
    lost_create_after: int
    stuck_task_after: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    reserved_host_memory_mb: int
    availability_zone: str
    max_archive_size: int = 16 * 1024 * 1024
    disk_total_gib: int = 0
    runtime_driver: str = "docker"
    image_driver: str = "docker"
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    image_gc_interval: int = 300
    image_gc_high_percent: int = 85
    image_gc_low_percent: int = 75
    image_gc_max_bytes: int = 0
    image_gc_pinned: list[str] = field(default_factory=list)
    image_gc_min_age: int = 120


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> ComputeConfig:
    return ComputeConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
