"""`dockyard-manage`: database migrations, local identity and the sample configuration."""

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
from dockyard.db.session import Database


def _db(conf: cfg.ConfigOpts) -> Database:
    return configured_database(conf)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dockyard-manage")
    parser.add_argument("--config-file", action="append", default=[])
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply every pending migration")
    db.add_parser("current", help="print the schema revision")
    sub.add_parser("opts", help="list every configuration option")
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
    else:
        for group, opts in list_opts():
            print(f"[{group}] " + ", ".join(o.dest for o in opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
