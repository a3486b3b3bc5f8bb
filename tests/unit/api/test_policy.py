"""The oslo.policy rules: every name and default, the personas, overrides and field rules."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from dockyard.api import policies
from dockyard.api.policy import RELOAD_EVERY, Authorizer
from dockyard.config import libraries
from dockyard.domain.errors import Forbidden
from dockyard.domain.models import RequestContext
from tests.fakes.clock import FakeClock

ADMIN = "rule:context_is_admin"
OWNER = "is_admin:True or project_id:%(project_id)s"
WRITER = "is_admin:True or (project_id:%(project_id)s and not rule:reader_only)"

# Zun's names and defaults (api-containers §13, api-other §16); writes by an owner
# carry the reader persona (WRITER), everything else is Zun's default unchanged.
CONTAINER_READS = (
    "get_one", "get_all", "logs", "top", "stats", "get_archive", "network_list", "actions",
)  # fmt: skip
CONTAINER_WRITES = (
    "create", "update", "delete", "start", "stop", "reboot", "pause", "unpause", "kill",
    "execute", "execute_resize", "rename", "attach", "resize", "put_archive", "commit",
    "add_security_group", "remove_security_group", "network_attach", "network_detach",
    "rebuild", "resize_container",
)  # fmt: skip
CONTAINER_ADMIN = (
    "create:runtime", "create:privileged", "create:requested_destination",
    "create:image_pull_policy", "delete_all_projects", "delete_force", "get_one:host",
    "get_one:image_pull_policy", "get_one:privileged", "get_one:runtime",
    "get_one_all_projects", "get_all_all_projects", "action:events",
)  # fmt: skip
OTHER = {
    "context_is_admin": "role:admin",
    "admin_or_owner": OWNER,
    "admin_api": ADMIN,
    "deny_everybody": "!",
    "image:pull": ADMIN,
    "image:get_all": ADMIN,
    "image:get_one": ADMIN,
    "image:search": OWNER,
    "image:delete": ADMIN,
    "host:get_all": ADMIN,
    "host:get": ADMIN,
    "zun-service:get_all": ADMIN,
    "zun-service:delete": ADMIN,
    "zun-service:enable": ADMIN,
    "zun-service:disable": ADMIN,
    "zun-service:force_down": ADMIN,
    "availability_zones:get_all": OWNER,
    "quota:get": OWNER,
    "quota:get_default": OWNER,
    "quota:update": ADMIN,
    "quota:delete": ADMIN,
    "quota_class:get": ADMIN,
    "quota_class:update": ADMIN,
    "capsule:create": WRITER,
    "capsule:get": OWNER,
    "capsule:get:host": ADMIN,
    "capsule:get_one_all_projects": ADMIN,
    "capsule:get_all": OWNER,
    "capsule:get_all_all_projects": ADMIN,
    "capsule:delete": WRITER,
    "capsule:delete_all_projects": ADMIN,
    "network:create": "role:admin",
    "network:delete": "role:admin",
    "network:attach_external_network": "role:admin",
    "registry:create": WRITER,
    "registry:get_all": OWNER,
    "registry:get_all_all_projects": ADMIN,
    "registry:get_one": OWNER,
    "registry:update": WRITER,
    "registry:delete": WRITER,
}
EXPECTED = {
    **{f"container:{a}": OWNER for a in CONTAINER_READS},
    **{f"container:{a}": WRITER for a in CONTAINER_WRITES},
    **{f"container:{a}": ADMIN for a in CONTAINER_ADMIN},
    **OTHER,
}
CREATE_RULES = (
    "container:create:privileged",
    "container:create:runtime",
    "container:create:requested_destination",
    "container:create:image_pull_policy",
)
# Keystone puts implied roles in tokens: admin implies member implies reader.
PERSONAS = {
    "reader": ("reader",),
    "member": ("member", "reader"),
    "admin": ("admin", "member", "reader"),
}


def make_authorizer(tmp_path: Path | None = None, rules: str = "") -> Authorizer:
    conf = cfg.ConfigOpts()
    libraries.register_opts(conf)
    conf([], default_config_files=[])
    if tmp_path is not None:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text(rules)
        conf.set_override("policy_file", str(policy_file), group="oslo_policy")
    return Authorizer.from_conf(conf)


@pytest.fixture(scope="module")
def authorizer() -> Authorizer:
    return make_authorizer()


def context(
    authorizer: Authorizer, roles: tuple[str, ...], project: str = "project-1"
) -> RequestContext:
    ctx = RequestContext("req-1", "user-1", project, roles=roles)
    return RequestContext(
        "req-1", "user-1", project, roles=roles, is_admin=authorizer.is_admin(ctx)
    )


def persona(authorizer: Authorizer, name: str, project: str = "project-1") -> RequestContext:
    return context(authorizer, PERSONAS[name], project)


def owned_by(project: str) -> dict[str, object]:
    return {"project_id": project, "user_id": "someone"}


def test_every_rule_is_registered_with_its_default() -> None:
    registered = {rule.name: rule.check_str for rule in policies.list_rules()}

    assert registered == {**EXPECTED, "reader_only": "role:reader and not role:member"}


def test_resource_rules_are_documented() -> None:
    for rule in policies.list_rules():
        if ":" in rule.name:
            assert isinstance(rule, oslo_policy.DocumentedRuleDefault), rule.name
            assert rule.description and rule.operations, rule.name


@pytest.mark.parametrize("rule", CREATE_RULES)
def test_non_admins_are_refused(authorizer: Authorizer, rule: str) -> None:
    with pytest.raises(Forbidden) as raised:
        authorizer.authorize(persona(authorizer, "member"), rule)

    assert raised.value.status == 403
    assert raised.value.code == "policy-not-authorized"
    assert rule in raised.value.detail


@pytest.mark.parametrize("rule", CREATE_RULES)
def test_admins_are_allowed(authorizer: Authorizer, rule: str) -> None:
    # Privileged included: unlike Zun's deny-everybody default (see policies.containers).
    authorizer.authorize(persona(authorizer, "admin"), rule)


def test_is_admin_is_the_context_is_admin_rule(authorizer: Authorizer) -> None:
    assert authorizer.is_admin(RequestContext("r", "u", "p", roles=("admin",)))
    assert not authorizer.is_admin(RequestContext("r", "u", "p", roles=("member",)))
    # A context claiming is_admin without the role is not an admin.
    assert not authorizer.is_admin(RequestContext("r", "u", "p", roles=(), is_admin=True))


@pytest.mark.parametrize("name", ["reader", "member", "admin"])
@pytest.mark.parametrize("action", CONTAINER_READS)
def test_every_persona_reads_its_project(authorizer: Authorizer, name: str, action: str) -> None:
    ctx = persona(authorizer, name)

    assert authorizer.allows(ctx, f"container:{action}", owned_by("project-1"))


@pytest.mark.parametrize("action", CONTAINER_WRITES)
def test_members_and_admins_write_readers_do_not(authorizer: Authorizer, action: str) -> None:
    rule = f"container:{action}"
    target = owned_by("project-1")

    assert authorizer.allows(persona(authorizer, "member"), rule, target)
    assert authorizer.allows(persona(authorizer, "admin", project="admin"), rule, target)
    with pytest.raises(Forbidden, match=rule):
        authorizer.authorize(persona(authorizer, "reader"), rule, target)


@pytest.mark.parametrize(
    "roles", [("member",), ("_member_",), ("heat_stack_owner",), ("reader", "member")]
)
def test_zun_style_roles_still_write(authorizer: Authorizer, roles: tuple[str, ...]) -> None:
    ctx = context(authorizer, roles)

    assert authorizer.allows(ctx, "container:stop", owned_by("project-1"))
    assert authorizer.allows(ctx, "container:create")


@pytest.mark.parametrize("name", ["reader", "member"])
def test_nobody_but_admins_acts_on_another_project(authorizer: Authorizer, name: str) -> None:
    ctx = persona(authorizer, name, project="project-2")

    for action in (*CONTAINER_READS, *CONTAINER_WRITES):
        assert not authorizer.allows(ctx, f"container:{action}", owned_by("project-1"))


@pytest.mark.parametrize("name", ["reader", "member"])
def test_all_projects_is_for_admins(authorizer: Authorizer, name: str) -> None:
    for rule in ("container:get_all_all_projects", "container:get_one_all_projects"):
        assert not authorizer.allows(persona(authorizer, name), rule)
        assert authorizer.allows(persona(authorizer, "admin"), rule)


def test_caller_target_by_default(authorizer: Authorizer) -> None:
    # create and list are checked against the caller's own project.
    assert authorizer.allows(persona(authorizer, "member", project="p-9"), "container:get_all")
    assert authorizer.allows(persona(authorizer, "member", project="p-9"), "container:create")
    assert not authorizer.allows(persona(authorizer, "reader"), "container:create")


def test_field_rules_hide_admin_fields_from_others(authorizer: Authorizer) -> None:
    hidden = {"host", "image_pull_policy", "privileged", "runtime"}

    for name in ("reader", "member"):
        assert authorizer.denied(persona(authorizer, name), "container:get_one:") == hidden
    assert authorizer.denied(persona(authorizer, "admin"), "container:get_one:") == set()


def test_unregistered_rules_pass_only_when_they_might_not_exist(authorizer: Authorizer) -> None:
    ctx = persona(authorizer, "member")

    authorizer.authorize(ctx, "container:get_one:name", might_not_exist=True)
    with pytest.raises(Forbidden):
        authorizer.authorize(ctx, "container:get_one:host", might_not_exist=True)
    with pytest.raises(Forbidden):
        authorizer.authorize(ctx, "container:no_such_rule")


def test_a_policy_file_overrides_defaults(tmp_path: Path) -> None:
    authorizer = make_authorizer(
        tmp_path,
        '"context_is_admin": "role:cloud-admin"\n'
        '"container:create:privileged": "rule:deny_everybody"\n'
        '"container:get_one:status": "rule:admin_api"\n'
        '"container:get_one:host": "@"\n',
    )
    admin = context(authorizer, ("admin", "member"))
    operator = context(authorizer, ("cloud-admin",))

    assert not admin.is_admin and operator.is_admin
    assert not authorizer.allows(operator, "container:create:privileged")
    assert authorizer.denied(admin, "container:get_one:") == {
        "image_pull_policy",
        "privileged",
        "runtime",
        "status",
    }
    with pytest.raises(Forbidden, match="container:get_one:status"):
        authorizer.authorize(admin, "container:get_one:status", might_not_exist=True)


def test_the_reader_persona_can_be_switched_off(tmp_path: Path) -> None:
    authorizer = make_authorizer(tmp_path, '"reader_only": "!"\n')
    reader = context(authorizer, ("reader",))

    assert authorizer.allows(reader, "container:stop", owned_by("project-1"))


def test_decisions_are_remembered_until_the_rules_are_looked_at_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(ticks=100.0)
    authorizer = Authorizer(make_authorizer(tmp_path, "").enforcer, clock=clock.monotonic)
    member = persona(authorizer, "member")
    asked: list[str] = []
    enforce = authorizer.enforcer.enforce
    monkeypatch.setattr(
        authorizer.enforcer,
        "enforce",
        lambda rule, *a, **k: asked.append(rule) or enforce(rule, *a, **k),
    )

    for _ in range(5):
        assert authorizer.allows(member, "container:get_one", owned_by("project-1"))
        assert not authorizer.allows(member, "container:get_one", owned_by("project-2"))
        assert authorizer.denied(member, "container:get_one:") == {
            "host",
            "image_pull_policy",
            "privileged",
            "runtime",
        }

    # One decision per distinct (rule, target, caller); field rules once per caller.
    assert asked.count("container:get_one") == 2
    assert asked.count("container:get_one:host") == 1

    clock.advance(RELOAD_EVERY + 0.1)
    assert authorizer.allows(member, "container:get_one", owned_by("project-1"))
    assert asked.count("container:get_one") == 3


def test_an_edited_policy_file_takes_effect_after_the_next_look(tmp_path: Path) -> None:
    clock = FakeClock(ticks=100.0)
    authorizer = Authorizer(make_authorizer(tmp_path, "").enforcer, clock=clock.monotonic)
    member = persona(authorizer, "member")
    assert authorizer.allows(member, "container:create")

    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"container:create": "role:admin"\n')
    os.utime(policy_file, (time.time() + 5, time.time() + 5))  # a visibly newer file
    assert authorizer.allows(member, "container:create")  # still the remembered decision

    clock.advance(RELOAD_EVERY + 0.1)
    assert not authorizer.allows(member, "container:create")
