"""Image drivers a create may name ([DEFAULT]), and how agents and the API reach Glance
([glance])."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg, types

from dockyard.domain.glance_settings import GlanceConfig

GROUP = "glance"

default_opts = [
    cfg.ListOpt(
        "image_driver_list",
        default=["docker"],
        item_type=types.String(choices=["docker", "glance"]),
        help="Image drivers a create, rebuild or image search may name with image_driver. "
        "Zun's default also lists 'glance'; here Glance must be configured in [glance] "
        "first, so it is listed only when asked for.",
    ),
    cfg.StrOpt(
        "default_image_driver",
        default="docker",
        choices=["docker", "glance"],
        help="Image driver of a create or search that names none (or 'None'); it must be "
        "in image_driver_list.",
    ),
]

opts = [
    cfg.StrOpt(
        "auth_url",
        default="",
        help="Keystone v3 URL of the service user that reads and writes Glance images "
        "(e.g. http://keystone:5000/v3). Needed when image_driver_list has 'glance'.",
    ),
    cfg.StrOpt("username", default="", help="The service user's name."),
    cfg.StrOpt("password", default="", secret=True, help="The service user's password."),
    cfg.StrOpt("project_name", default="service", help="Project the service user acts in."),
    cfg.StrOpt("user_domain_name", default="Default", help="Domain of the service user."),
    cfg.StrOpt("project_domain_name", default="Default", help="Domain of its project."),
    cfg.StrOpt("region_name", default="", help="Region of the 'image' endpoint to use."),
    cfg.StrOpt(
        "interface",
        default="public",
        choices=["public", "internal", "admin"],
        help="Which of the catalog's 'image' endpoints to use.",
    ),
    cfg.ListOpt(
        "api_servers",
        default=[],
        help="Glance URLs (e.g. http://glance:9292) used instead of the catalog's "
        "endpoint; the first one is used.",
    ),
    cfg.IntOpt(
        "timeout",
        default=60,
        min=1,
        help="Seconds to wait for Glance to answer one request (or the next chunk of a download).",
    ),
    cfg.StrOpt(
        "images_directory",
        default="",
        help="Where an agent writes a Glance image's tarball while it downloads and "
        "checks it, before loading it into the engine (the file is removed after). "
        "Empty means data_dir/glance-images. Needs room for the largest image.",
    ),
]


@dataclass(frozen=True)
class ImageDriverConfig:
    image_driver_list: tuple[str, ...] = ("docker",)
    default_image_driver: str = "docker"


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    conf.register_opts(opts, group=GROUP)


def drivers(conf: cfg.ConfigOpts) -> ImageDriverConfig:
    listed = tuple(dict.fromkeys(conf.image_driver_list))
    if conf.default_image_driver not in listed:
        raise cfg.Error(
            f"[DEFAULT] default_image_driver = {conf.default_image_driver} is not in "
            f"image_driver_list ({', '.join(listed)})"
        )
    return ImageDriverConfig(listed, conf.default_image_driver)


def view(conf: cfg.ConfigOpts) -> GlanceConfig:
    group = conf[GROUP]
    values = {o.dest: group[o.dest] for o in opts}
    values["api_servers"] = tuple(values["api_servers"])
    return GlanceConfig(**values)
