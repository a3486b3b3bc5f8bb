"""The ``dockyard`` program: ``dockyard up`` runs the service, every other verb is the CLI.

Only the standard library is imported here, so that ``dockyard --help`` and the
client verbs start fast; the service's stack loads only for ``up``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] == "up":
        from dockyard.cmd.up import main as serve

        return serve(arguments[1:])
    from dockyard.cli.app import main as cli

    return cli(arguments)


if __name__ == "__main__":
    sys.exit(main())
