"""`dockyard-manage project|user|role ...`: local identity (auth_strategy = local)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from oslo_config import cfg

from dockyard.cmd.identity import identity_admin
from dockyard.cmd.wiring import open_database
from dockyard.domain.errors import ClientError
from dockyard.service.identity import IdentityAdmin

IDENTITY_COMMANDS = ("project", "user", "role")


def add_identity_commands(sub: Any) -> None:
    project = sub.add_parser("project", help="local identity projects")
    project_actions = project.add_subparsers(dest="action", required=True)
    project_actions.add_parser("create", help="create a project").add_argument("name")

    user = sub.add_parser("user", help="local identity users")
    user_actions = user.add_subparsers(dest="action", required=True)
    create = user_actions.add_parser("create", help="create a user")
    create.add_argument("name")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--password-file", type=Path, help="file whose first line is it")
    source.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    create.add_argument("--project", help="project to give the user a role on")
    create.add_argument("--role", default="member", help="role on --project (default member)")
    user_actions.add_parser("list", help="list users and their roles (never passwords)")

    role = sub.add_parser("role", help="role assignments")
    role_actions = role.add_subparsers(dest="action", required=True)
    add = role_actions.add_parser("add", help="give USER the role ROLE on PROJECT")
    for name in ("user", "project", "role"):
        add.add_argument(name)


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


def _dispatch(args: argparse.Namespace, admin: IdentityAdmin) -> None:
    if args.command == "project":
        project = admin.create_project(args.name)
        print(f"created project {project.name} ({project.id})")
    elif args.command == "user" and args.action == "create":
        user = admin.create_user(args.name, _read_password(args), args.project, args.role)
        print(f"created user {user.name} ({user.id})")
        if args.project:
            print(f"granted {args.role} on {args.project} to {user.name}")
    elif args.command == "user":
        _list_users(admin)
    else:
        added = admin.grant(args.user, args.project, args.role)
        state = "granted" if added else "already had"
        print(f"{args.user} {state} role {args.role} on {args.project}")


def run_identity_command(args: argparse.Namespace, conf: cfg.ConfigOpts) -> int:
    creating = args.command == "user" and args.action == "create"
    if creating and args.project is None and args.role != "member":
        print("dockyard-manage: --role needs --project", file=sys.stderr)
        return 2
    db = open_database(conf)
    try:
        _dispatch(args, identity_admin(conf, db))
    except ClientError as exc:
        print(f"dockyard-manage: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0
