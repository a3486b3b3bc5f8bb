"""[compute]: the per-host agent and how its capacity is counted."""

from __future__ import annotations

from dataclasses import dataclass

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
    runtime_driver: str = "docker"
    image_driver: str = "docker"


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> ComputeConfig:
    return ComputeConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
