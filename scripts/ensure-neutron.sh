#!/usr/bin/env bash
# Installs a real neutron-server (from PyPI) and gunicorn into .venv-neutron, for the tests of
# the neutron network driver. Kept apart from .venv: Neutron pins its own oslo.* and
# SQLAlchemy versions; scripts/neutron-constraints.txt pins the whole set. Also makes the
# `neutron` database on the machine's MariaDB with Neutron's own migrations (they fail on
# SQLite and PostgreSQL 15); the tests start the server on it (tests/support/neutron.py).
set -euo pipefail
cd "$(dirname "$0")/.."
want="neutron==29.0.0 gunicorn PyMySQL $(sha256sum scripts/neutron-constraints.txt | cut -c1-16)"
if [ "$(cat .venv-neutron/.installed 2>/dev/null)" != "$want" ]; then
  echo "==> installing Neutron into .venv-neutron"
  python3 -m venv .venv-neutron
  .venv-neutron/bin/pip install -q -c scripts/neutron-constraints.txt neutron gunicorn PyMySQL \
    2>&1 | grep -v "is ignored" || true
  .venv-neutron/bin/python -c "import neutron.wsgi, pymysql" >/dev/null
  echo "$want" >.venv-neutron/.installed
fi
echo "==> Neutron $(.venv-neutron/bin/pip show neutron 2>/dev/null | sed -n 's/^Version: //p') in .venv-neutron"

bash scripts/ensure-databases.sh
if ! mysqladmin -h 127.0.0.1 -u root status >/dev/null 2>&1; then
  echo "!!! no MariaDB on 127.0.0.1: the neutron tests will skip (and fail under CI)"
  exit 0
fi
mysql -h 127.0.0.1 -u root -e "CREATE DATABASE IF NOT EXISTS neutron"
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf '[DEFAULT]\ncore_plugin = ml2\n[database]\nconnection = %s\n' \
  "mysql+pymysql://root@127.0.0.1:3306/neutron" >"$conf"
# Skipped when this installation of Neutron already migrated it (loading takes ~15 s).
heads() { mysql -h 127.0.0.1 -u root -N -e "SELECT COUNT(*) FROM neutron.alembic_version" 2>/dev/null || true; }
if [ "$(cat .venv-neutron/.migrated 2>/dev/null)" = "$want $(heads)" ]; then
  echo "==> database neutron on MariaDB at Neutron's head"
  exit 0
fi
.venv-neutron/bin/neutron-db-manage --config-file "$conf" upgrade heads >/dev/null 2>&1 || {
  echo "!!! neutron-db-manage upgrade failed"; .venv-neutron/bin/neutron-db-manage \
    --config-file "$conf" upgrade heads; exit 1; }
echo "$want $(heads)" >.venv-neutron/.migrated
echo "==> database neutron on MariaDB at Neutron's head"
