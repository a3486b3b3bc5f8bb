"""Renders the configuration reference (docs/configuration.md) from the declared options."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.config.opts import list_opts

HEADER = """# Configuration reference

Generated from Dockyard's oslo.config options by
`python -m dockyard.config.reference > docs/configuration.md`; a test fails
when this file and the code disagree. Options go in an ini file passed with
`--config-file` (for example `/etc/dockyard/dockyard.conf`); `dockyard up`
also takes `--data-dir`, `--bind`, `--port`, `--docker-url` and `--debug`.
"""


#: Prose after a group's table, for options the table cannot show.
NOTES = {
    "oslo_policy": (
        '`policy_file` holds rule overrides in YAML (`"rule": "check"`); the rules, '
        "their defaults and the personas they implement are in `dockyard/api/policies/` "
        "(`oslopolicy-sample-generator --namespace dockyard` prints them all)."
    ),
    "keystone_authtoken": (
        "Read under `auth_strategy = keystone`. `auth_type` loads a keystoneauth plugin whose "
        "own options go in this section too; for `password`: `auth_url`, `username`, "
        "`password`, `project_name`, `user_domain_id`/`user_domain_name`, "
        "`project_domain_id`/`project_domain_name`. The service user needs Keystone's "
        "`service` role to validate tokens."
    ),
}


def _default(opt: cfg.Opt) -> str:
    if opt.sample_default is not None:
        return str(opt.sample_default)
    if opt.default is None or opt.default == "":
        return "(none)"
    return str(opt.default)


def _limits(opt: cfg.Opt) -> str:
    kind = opt.type
    parts = []
    choices = getattr(kind, "choices", None)
    if choices:
        parts.append("one of " + ", ".join(f"`{c}`" for c in choices))
    for bound in ("min", "max"):
        value = getattr(kind, bound, None)
        if value is not None:
            parts.append(f"{bound} {value}")
    return "; ".join(parts)


def render() -> str:
    lines = [HEADER]
    for group, opts in list_opts():
        lines += [
            f"## [{group}]",
            "",
            "| Option | Type | Default | Allowed | Description |",
            "|---|---|---|---|---|",
        ]
        for opt in sorted(opts, key=lambda o: o.dest):
            kind = type(opt.type).__name__.lower()
            secret = " Secret: never logged." if opt.secret else ""
            help_text = " ".join(str(opt.help).split()) + secret
            lines.append(
                f"| `{opt.dest}` | {kind} | `{_default(opt)}` | {_limits(opt)} | {help_text} |"
            )
        if group in NOTES:
            lines += [NOTES[group], ""]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
