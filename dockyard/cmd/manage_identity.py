"""`dockyard-manage project|user|role ...`: local identity (auth_strategy = local)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from dockyard.domain.errors import ClientError

if TYPE_CHECKING:
    from dockyard.service.identity import IdentityAdmin

IDENTITY_COMMANDS = ("project", "user", "role")


def _password_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--password-file", type=Path, help="file whose first line is it")
    source.add_argument("--password-stdin", action="store_true", help="read it from stdin")


def add_identity_commands(sub: Any) -> None:
    project = sub.add_parser("project", help="local identity projects")
    project_actions = project.add_subparsers(dest="action", required=True)
    project_actions.add_parser("create", help="create a project").add_argument("name")
    project_actions.add_parser(
        "delete", help="delete a project without containers, its role assignments and quotas"
    ).add_argument("name")

    user = sub.add_parser("user", help="local identity users")
    user_actions = user.add_subparsers(dest="action", required=True)
    create = user_actions.add_parser("create", help="create a user")
    create.add_argument("name")
    _password_source(create)
    create.add_argument("--project", help="project to give the user a role on")
    create.add_argument("--role", default="member", help="role on --project (default member)")
    user_actions.add_parser("list", help="list users and their roles (never passwords)")
    helps = {
        "disable": "refuse the user new tokens and invalidate their tokens at once",
        "enable": "let a disabled user log in again",
        "delete": "delete the user and their role assignments; their tokens stop working",
    }
    for action, text in helps.items():
        user_actions.add_parser(action, help=text).add_argument("name")
    password = user_actions.add_parser(
        "set-password", help="give the user a new password; their existing tokens stop working"
    )
    password.add_argument("name")
    _password_source(password)

    role = sub.add_parser("role", help="role assignments")
    role_actions = role.add_subparsers(dest="action", required=True)
    add = role_actions.add_parser("add", help="give USER the role ROLE on PROJECT")
    remove = role_actions.add_parser("remove", help="take the role ROLE on PROJECT from USER")
    for parser in (add, remove):
        for name in ("user", "project", "role"):
            parser.add_argument(name)


def _read_password(args: argparse.Namespace) -> str:
    text = args.password_file.read_text() if args.password_file else sys.stdin.readline()
    lines = text.splitlines()
    return lines[0] if lines else ""


def _list_users(admin: IdentityAdmin) -> None:
    rows = [("NAME", "ID", "ENABLED", "ROLES")]
    for user, roles in admin.users():
        granted = ", ".join(f"{role}@{project}" for project, role in roles) or "-"
        rows.append((user.name, user.id, "yes" if user.enabled else "no", granted))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row[:3], widths, strict=True)) + "  " + row[3])


def _project(args: argparse.Namespace, admin: IdentityAdmin) -> None:
    if args.action == "create":
        project = admin.create_project(args.name)
        print(f"created project {project.name} ({project.id})")
    else:
        project = admin.delete_project(args.name)
        print(f"deleted project {project.name} ({project.id})")


def _user(args: argparse.Namespace, admin: IdentityAdmin) -> None:
    action = args.action
    if action == "create":
        user = admin.create_user(args.name, _read_password(args), args.project, args.role)
        print(f"created user {user.name} ({user.id})")
        if args.project:
            print(f"granted {args.role} on {args.project} to {user.name}")
    elif action == "list":
        _list_users(admin)
    elif action in ("disable", "enable"):
        user = admin.set_enabled(args.name, action == "enable")
        print(f"{action}d user {user.name} ({user.id})")
    elif action == "delete":
        user = admin.delete_user(args.name)
        print(f"deleted user {user.name} ({user.id})")
    else:
        user = admin.set_password(args.name, _read_password(args))
        print(f"set a new password for {user.name}; their earlier tokens no longer work")


def _role(args: argparse.Namespace, admin: IdentityAdmin) -> None:
    if args.action == "add":
        added = admin.grant(args.user, args.project, args.role)
        state = "granted" if added else "already had"
    else:
        removed = admin.revoke_role(args.user, args.project, args.role)
        state = "lost" if removed else "did not have"
    print(f"{args.user} {state} role {args.role} on {args.project}")


def run_identity_command(args: argparse.Namespace, conf: cfg.ConfigOpts) -> int:
    creating = args.command == "user" and args.action == "create"
    if creating and args.project is None and args.role != "member":
        print("dockyard-manage: --role needs --project", file=sys.stderr)
        return 2
    handler = {"project": _project, "user": _user, "role": _role}[args.command]
    # Loaded only to run a command, so that `--help` answers at once.
    from dockyard.cmd.identity import identity_admin
    from dockyard.cmd.storage import open_local_database
    from dockyard.domain.clock import Clock

    db = open_local_database(conf, Clock())
    try:
        handler(args, identity_admin(conf, db))
    except ClientError as exc:
        print(f"dockyard-manage: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0
