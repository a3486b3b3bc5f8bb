"""`dockyard up`: the whole service in one process on one machine."""

from __future__ import annotations

import sys

from dockyard.cmd.configuration import load_config, setup_logging


def main(argv: list[str] | None = None) -> int:
    conf = load_config(sys.argv[1:] if argv is None else argv)
    setup_logging(conf, with_pid=False)
    # Loaded once the options are read: `--help` and a bad option answer at once.
    from dockyard.cmd.all_in_one_node import serve

    return serve(conf)


if __name__ == "__main__":
    sys.exit(main())
