"""``dockyard login`` and ``dockyard logout``.

``login`` authenticates once (password from ``--password-stdin``, ``OS_PASSWORD``
or a prompt) and saves only the resulting token, its expiry and the API's
address, in a file only its owner can read. Later commands use that token until
it expires; ``OS_*`` settings or ``--os-cloud``, when given, take precedence.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from dockyard.cli import auth, login_file
from dockyard.cli.context import Context
from dockyard.cli.errors import CLIError
from dockyard.cli.parsing import Parser, command


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    login = command(subparsers, "login", login_command,
                    "Log in to Dockyard's identity service or Keystone and save a token",
                    usage="dockyard login [OPTIONS] [AUTH_URL]",
                    description=__doc__)  # fmt: skip
    login.add_argument("-u", "--username", help="User name (default: OS_USERNAME)")
    login.add_argument("-p", "--password", help="Password (insecure: prefer --password-stdin)")
    login.add_argument("--password-stdin", action="store_true", help="Read the password from stdin")
    login.add_argument("--project", help="Project name (default: OS_PROJECT_NAME)")
    login.add_argument("--domain", help="User and project domain name (default: Default)")
    login.add_argument("auth_url", nargs="?", metavar="AUTH_URL",
                       help="Identity URL (default: OS_AUTH_URL)")  # fmt: skip
    logout = command(subparsers, "logout", logout_command,
                     "Revoke the saved token and forget it", usage="dockyard logout")  # fmt: skip
    del logout


def login_command(ctx: Context, args: argparse.Namespace) -> int:
    name = ctx.cloud or ctx.env.get("OS_CLOUD")
    settings = auth.from_cloud(name, ctx.env) if name else auth.from_env(ctx.env)
    if settings is None or settings.auth_type in auth.NO_AUTH + ("admin_token",):
        settings = auth.Settings("password")
    if args.password_stdin and args.password:
        raise CLIError("--password and --password-stdin are mutually exclusive")
    if args.password:
        ctx.err.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    password = args.password
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = settings.with_options(
        auth_url=args.auth_url, username=args.username, project_name=args.project,
        password=password, user_domain_name=args.domain, project_domain_name=args.domain,
    )  # fmt: skip
    if not settings.options.get("auth_url"):
        raise CLIError("no identity service: pass AUTH_URL (e.g. http://HOST:9517/v3)")
    if settings.auth_type == "password":
        settings = _ask_missing(settings)
    login = auth.authenticate(settings)
    saved = login_file.save(ctx.env, login)
    ctx.out.write(f"Login Succeeded ({login.user} in project {login.project}; token saved in "
                  f"{saved}, valid until {login.expires_at})\n")  # fmt: skip
    return 0


def _ask_missing(settings: auth.Settings) -> auth.Settings:
    """Prompt for the user name and password on a terminal, as ``docker login`` does."""
    options = settings.options
    if options.get("username") and options.get("password"):
        return settings
    if not sys.stdin.isatty():
        missing = "-u USER" if not options.get("username") else "--password-stdin"
        raise CLIError(f"cannot prompt without a terminal: pass {missing} (or set OS_* variables)")
    if not options.get("username"):
        settings = settings.with_options(username=input("Username: ").strip() or None)
    if not settings.options.get("password"):
        settings = settings.with_options(password=getpass.getpass("Password: "))
    return settings


def logout_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        saved = login_file.load(ctx.env)
    except ValueError:
        saved = None
    if saved is not None:
        auth.revoke(saved)
    if login_file.remove(ctx.env):
        ctx.out.write(f"Removing login credentials from {login_file.path(ctx.env)}\n")
    else:
        ctx.out.write("Not logged in\n")
    return 0
