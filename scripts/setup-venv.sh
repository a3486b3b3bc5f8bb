#!/usr/bin/env bash
# Creates .venv (when missing or stale) and installs Dockyard with its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed-from
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Dockyard into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  .venv/bin/pip install -q -e '.[test]' 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import dockyard, docker, sqlalchemy, oslo_config, websockets" >/dev/null
  echo "$want" >"$stamp"
fi
