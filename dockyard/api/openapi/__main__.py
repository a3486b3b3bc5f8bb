"""`python -m dockyard.api.openapi > docs/openapi.json`: the document at default limits."""

from __future__ import annotations

import sys

from dockyard.api.app import served_routes
from dockyard.api.openapi.document import render
from dockyard.api.schemas.containers import Limits

if __name__ == "__main__":
    sys.stdout.write(render(served_routes(), Limits()))
