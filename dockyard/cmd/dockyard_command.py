"""`dockyard`: the command people type.

`dockyard up` runs the all-in-one service (:mod:`dockyard.cmd.all_in_one`); every
other verb is the Docker-like client (:mod:`dockyard.cli`), whose parser also lists
`up` in its help. Only the standard library is imported here, so the client verbs
and `--help` start fast: the service's stack loads only for `up`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] == "up":
        from dockyard.cmd.all_in_one import main as serve

        return serve(arguments[1:])
    from dockyard.cli.app import main as client

    return client(arguments)


if __name__ == "__main__":
    sys.exit(main())
