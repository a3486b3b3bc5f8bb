"""How an agent or the API reaches Glance ([glance] options, read by dockyard.config)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GlanceConfig:
    auth_url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    project_name: str = "service"
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str = ""
    interface: str = "public"
    api_servers: tuple[str, ...] = ()
    timeout: int = 60
    images_directory: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.api_servers or self.auth_url)
