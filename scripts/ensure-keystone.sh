#!/usr/bin/env bash
# Installs a real Keystone (from PyPI) and gunicorn into .venv-keystone, for identity tests.
# Kept apart from .venv: Keystone pins its own oslo.* and SQLAlchemy versions.
set -euo pipefail
cd "$(dirname "$0")/.."
want="keystone>=30,<31 gunicorn>=22"
if [ "$(cat .venv-keystone/.installed 2>/dev/null)" != "$want" ]; then
  echo "==> installing Keystone into .venv-keystone"
  python3 -m venv .venv-keystone
  # shellcheck disable=SC2086
  .venv-keystone/bin/pip install -q $want 2>&1 | grep -v "is ignored" || true
  .venv-keystone/bin/keystone-manage --help >/dev/null
  echo "$want" >.venv-keystone/.installed
fi
echo "==> Keystone $(.venv-keystone/bin/pip show keystone 2>/dev/null | sed -n 's/^Version: //p') in .venv-keystone"
