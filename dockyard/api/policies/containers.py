"""container:* rules (api-containers §13).

Per-container rules are checked against the container's own project and user;
create, list and the action log against the caller's.
"""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies.base import ADMIN_API, PROJECT_READER, PROJECT_WRITER, operation

COLLECTION = "/v1/containers"
ONE = "/v1/containers/{container_ident}"

#: Fields only admins see, each behind a ``container:get_one:<field>`` rule.
ADMIN_FIELDS = ("host", "image_pull_policy", "privileged", "runtime")

# (action, method, path suffix, description); the rule is container:<action>.
_READS = (
    ("get_one", "GET", "", "Show a container."),
    ("get_all", "GET", None, "List the project's containers."),
    ("logs", "GET", "/logs", "Read a container's logs."),
    ("top", "GET", "/top", "List the processes of a container."),
    ("stats", "GET", "/stats", "Read a container's resource usage."),
    ("get_archive", "GET", "/get_archive", "Copy files out of a container."),
    ("network_list", "GET", "/network_list", "List a container's networks."),
    ("actions", "GET", "/container_actions", "Read a container's action log."),
)
_WRITES = (
    ("create", "POST", None, "Create (and optionally run) a container."),
    ("update", "PATCH", "", "Rename a container or change its limits."),
    ("delete", "DELETE", "", "Delete a container."),
    ("start", "POST", "/start", "Start a container."),
    ("stop", "POST", "/stop", "Stop a container (also delete with stop=true)."),
    ("reboot", "POST", "/reboot", "Restart a container."),
    ("pause", "POST", "/pause", "Pause a container."),
    ("unpause", "POST", "/unpause", "Unpause a container."),
    ("kill", "POST", "/kill", "Send a signal to a container."),
    ("execute", "POST", "/execute", "Run a command in a container."),
    ("execute_resize", "POST", "/execute_resize", "Resize the TTY of an exec session."),
    ("rename", "POST", "/rename", "Rename a container (up to 1.13)."),
    ("attach", "GET", "/attach", "Attach to a container's console."),
    ("resize", "POST", "/resize", "Resize a container's TTY."),
    ("put_archive", "POST", "/put_archive", "Copy files into a container."),
    ("commit", "POST", "/commit", "Save a container as an image."),
    ("add_security_group", "POST", "/add_security_group", "Add a security group."),
    ("remove_security_group", "POST", "/remove_security_group", "Remove a security group."),
    ("network_attach", "POST", "/network_attach", "Connect a container to a network."),
    ("network_detach", "POST", "/network_detach", "Disconnect a container from a network."),
    ("rebuild", "POST", "/rebuild", "Recreate a container from its (or a new) image."),
    ("resize_container", "POST", "/resize_container", "Change a container's cpu and memory."),
)
_ADMIN = (
    ("create:runtime", "POST", None, "Create a container with a chosen runtime."),
    ("create:requested_destination", "POST", None, "Create a container on a chosen host."),
    ("create:image_pull_policy", "POST", None, "Create a container with a pull policy."),
    ("delete_all_projects", "DELETE", "", "Delete a container of any project."),
    ("delete_force", "DELETE", "", "Delete a container with force=true."),
    ("get_one_all_projects", "GET", "", "Show a container with all_projects=true."),
    ("get_all_all_projects", "GET", None, "List the containers of every project."),
    ("action:events", "GET", "/container_actions/{request_id}", "See event tracebacks."),
)


def _path(suffix: str | None) -> str:
    return COLLECTION if suffix is None else ONE + suffix


def _rule(
    action: str, check: str, method: str, suffix: str | None, text: str
) -> policy.RuleDefault:
    return policy.DocumentedRuleDefault(
        f"container:{action}", check, text, [operation(method, _path(suffix))]
    )


def list_rules() -> list[policy.RuleDefault]:
    rules = [_rule(a, PROJECT_READER, m, s, d) for a, m, s, d in _READS]
    rules += [_rule(a, PROJECT_WRITER, m, s, d) for a, m, s, d in _WRITES]
    rules += [_rule(a, ADMIN_API, m, s, d) for a, m, s, d in _ADMIN]
    # Zun denies privileged containers to everybody; Dockyard lets admins create them
    # (running trusted system containers is an admin's job), and operators who want
    # Zun's behaviour set this rule to "rule:deny_everybody".
    rules.append(_rule("create:privileged", ADMIN_API, "POST", None, "Create a privileged one."))
    rules += [
        _rule(
            f"get_one:{field}",
            ADMIN_API,
            "GET",
            "",
            f"See the {field} field of a container, and filter lists by it.",
        )
        for field in ADMIN_FIELDS
    ]
    return rules
