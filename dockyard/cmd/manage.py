"""`dockyard-manage`: database migrations, local identity, the installation id and the
configuration options."""

from __future__ import annotations

import argparse
import sys

from oslo_config import cfg

from dockyard.cmd.manage_identity import (
    IDENTITY_COMMANDS,
    add_identity_commands,
    run_identity_command,
)
from dockyard.cmd.storage import configured_database
from dockyard.cmd.up import load_config
from dockyard.config.opts import list_opts
from dockyard.db import migrate
from dockyard.db.repositories.installation import InstallationRepository
from dockyard.db.session import Database


def _db(conf: cfg.ConfigOpts) -> Database:
    return configured_database(conf)


def _show_installation(db: Database) -> int:
    if migrate.current(db) is None:
        print("The database is empty: run `dockyard-manage db upgrade` first.", file=sys.stderr)
        return 1
    print(InstallationRepository(db).id())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dockyard-manage")
    parser.add_argument("--config-file", action="append", default=[])
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply every pending migration")
    db.add_parser("current", help="print the schema revision")
    sub.add_parser("opts", help="list every configuration option")
    installation = sub.add_parser("installation", help="this installation's id").add_subparsers(
        dest="action", required=True
    )
    installation.add_parser(
        "show", help="print the id every engine object of this installation is labelled with"
    )
    add_identity_commands(sub)
    args = parser.parse_args(argv)
    conf = load_config([f"--config-file={f}" for f in args.config_file])
    if args.command in IDENTITY_COMMANDS:
        return run_identity_command(args, conf)
    if args.command == "db" and args.action == "upgrade":
        migrate.upgrade(_db(conf))
        print(f"database at revision {migrate.current(_db(conf))}")
    elif args.command == "db":
        print(migrate.current(_db(conf)) or "empty (no revision)")
    elif args.command == "installation":
        return _show_installation(_db(conf))
    else:
        for group, opts in list_opts():
            print(f"[{group}] " + ", ".join(o.dest for o in opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
