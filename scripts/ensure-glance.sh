#!/usr/bin/env bash
# Installs a real Glance (from PyPI, pinned by scripts/glance-constraints.txt) and gunicorn
# into .venv-glance, for the Glance image driver's tests (tests/support/glance.py starts it).
# Kept apart from .venv: Glance pins its own oslo.* and SQLAlchemy versions.
set -euo pipefail
cd "$(dirname "$0")/.."
want="glance==33.0.0 gunicorn>=22 $(sha256sum scripts/glance-constraints.txt | cut -c1-16)"
if [ "$(cat .venv-glance/.installed 2>/dev/null)" != "$want" ]; then
  echo "==> installing Glance into .venv-glance"
  python3 -m venv .venv-glance
  .venv-glance/bin/pip install -q -c scripts/glance-constraints.txt "glance==33.0.0" "gunicorn>=22" \
    2>&1 | grep -v "is ignored" || true
  .venv-glance/bin/glance-manage --help >/dev/null
  echo "$want" >.venv-glance/.installed
fi
echo "==> Glance $(.venv-glance/bin/pip show glance 2>/dev/null | sed -n 's/^Version: //p') in .venv-glance"
