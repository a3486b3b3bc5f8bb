"""Options of the OpenStack libraries the API is built on: oslo.policy, keystonemiddleware.

``[oslo_policy]`` (``policy_file``: rule overrides) and ``[keystone_authtoken]``
(token validation under ``auth_strategy = keystone``) are declared by the
libraries themselves. They are found through oslo.config's ``oslo.config.opts``
entry points, as oslo-config-generator finds them, so that only the API
imports the libraries while every ConfigOpts still knows their options.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from oslo_config import cfg

#: oslo.config namespaces, in the order the reference lists them.
NAMESPACES = ("oslo.policy", "keystonemiddleware.auth_token")


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    loaders = {ep.name: ep for ep in entry_points(group="oslo.config.opts")}
    found: list[tuple[str, list[cfg.Opt]]] = []
    for namespace in NAMESPACES:
        for group, opts in loaders[namespace].load()():
            found.append((str(getattr(group, "name", group)), list(opts)))
    return found


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in list_opts():
        conf.register_opts(opts, group=group)
