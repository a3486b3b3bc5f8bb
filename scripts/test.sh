#!/usr/bin/env bash
# The test command: installs what the tests need, then runs linters and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
bash scripts/ensure-docker.sh
bash scripts/ensure-engines.sh 2
bash scripts/build-test-image.sh
bash scripts/ensure-registry.sh
bash scripts/ensure-private-registry.sh
bash scripts/ensure-databases.sh
bash scripts/ensure-rabbitmq.sh
bash scripts/ensure-keystone.sh
bash scripts/ensure-neutron.sh
bash scripts/ensure-chromium.sh

echo "==> ruff"
.venv/bin/ruff check dockyard tests bench
.venv/bin/ruff format --check dockyard tests bench
echo "==> mypy --strict"
.venv/bin/mypy dockyard
echo "==> import-linter"
.venv/bin/lint-imports
echo "==> pytest"
.venv/bin/pytest "$@"
