"""CPU to encode one ``CreateContainer`` whose host firewall has ``--entries`` per list.

``.venv/bin/python -m bench.codec_cpu [--entries 40]``

The API encodes the whole firewall of the chosen host into every create it casts, so
this cost grows with the host's ports. Prints the best of 7 runs of 50 encodes, in ms
per encode (thread CPU), for A/B of ``dockyard.rpc.codec`` (run with ``PYTHONPATH``
pointing at another checkout).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import Any

from dockyard.rpc import codec
from dockyard.rpc.messages import CreateContainer
from dockyard.rpc.messaging import COMPUTE
from tests.support.rpc_samples import MESSAGES


def grown(message: CreateContainer, entries: int) -> CreateContainer:
    """``message`` with each list of its firewall repeated up to ``entries`` items."""
    firewall = message.firewall
    assert firewall is not None
    longer: dict[str, Any] = {}
    for field in dataclasses.fields(firewall):
        value = getattr(firewall, field.name)
        if isinstance(value, tuple) and value:
            longer[field.name] = value * max(1, entries // len(value))
    return dataclasses.replace(message, firewall=dataclasses.replace(firewall, **longer))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=40)
    args = parser.parse_args(argv)
    sample = next(m for m in MESSAGES if isinstance(m, CreateContainer) and m.firewall is not None)
    message = grown(sample, args.entries)
    signature = COMPUTE["create"]
    runs = []
    for _ in range(7):
        began = time.thread_time()
        for _ in range(50):
            codec.encode_args(signature, {"message": message})
        runs.append((time.thread_time() - began) * 1000 / 50)
    print(f"{min(runs):.2f} ms per encode ({args.entries} entries per firewall list)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
