"""`dockyard-manage`: database migrations, local identity, the installation id and the
configuration options.

The parser is built from light modules only; what a command needs (the database,
the identity code, the libraries' options) is loaded once it is known, so `--help`
and a mistyped command answer at once.
"""

from __future__ import annotations

import argparse
import sys

from oslo_config import cfg

from dockyard.cmd.configuration import load_config
from dockyard.cmd.manage_identity import (
    IDENTITY_COMMANDS,
    add_identity_commands,
    run_identity_command,
)


def _parser() -> argparse.ArgumentParser:
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
    return parser


def _database_command(action: str, conf: cfg.ConfigOpts) -> None:
    from dockyard.cmd.storage import configured_database
    from dockyard.db import migrate

    if action == "upgrade":
        migrate.upgrade(configured_database(conf))
        print(f"database at revision {migrate.current(configured_database(conf))}")
    else:
        print(migrate.current(configured_database(conf)) or "empty (no revision)")


def _show_installation(conf: cfg.ConfigOpts) -> int:
    from dockyard.cmd.storage import configured_database
    from dockyard.db import migrate
    from dockyard.db.repositories.installation import InstallationRepository

    db = configured_database(conf)
    if migrate.current(db) is None:
        print("The database is empty: run `dockyard-manage db upgrade` first.", file=sys.stderr)
        return 1
    print(InstallationRepository(db).id())
    return 0


def _list_options() -> None:
    from dockyard.config.opts import list_opts

    for group, opts in list_opts():
        print(f"[{group}] " + ", ".join(o.dest for o in opts))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    files = [f"--config-file={f}" for f in args.config_file]
    # No command reads the API libraries' sections (`opts` lists them on its own).
    conf = load_config(files, "dockyard-manage", libraries_too=False)
    if args.command in IDENTITY_COMMANDS:
        return run_identity_command(args, conf)
    if args.command == "db":
        _database_command(args.action, conf)
    elif args.command == "installation":
        return _show_installation(conf)
    else:
        _list_options()
    return 0


if __name__ == "__main__":
    sys.exit(main())
