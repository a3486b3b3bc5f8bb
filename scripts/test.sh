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
bash scripts/ensure-glance.sh
bash scripts/ensure-neutron.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-zsh.sh

echo "==> ruff"
.venv/bin/ruff check dockyard tests bench
.venv/bin/ruff format --check dockyard tests bench
echo "==> mypy --strict (the package and the benchmarks)"
.venv/bin/mypy dockyard bench
echo "==> import-linter"
.venv/bin/lint-imports
if [ "$#" -gt 0 ]; then
    echo "==> pytest $*"
    exec .venv/bin/pytest "$@"
fi

# Two groups at once, then one test alone. The first group holds every test that
# uses or restarts the shared RabbitMQ, and the fault suite (its own dockerd, its
# own proxies): nothing in the second group talks to the broker. The database
# outage test stops the shared PostgreSQL, so it runs when nothing else does.
ISOLATED=(
    tests/faults
    tests/integration/test_multihost.py
    tests/integration/test_cloud_shape.py
    tests/integration/test_cloud_shape_neutron.py
    tests/integration/test_agent_composition.py
    tests/integration/test_network_tunnels.py
    tests/integration/test_engine_restart_volumes.py
    tests/contract/test_rpc_transports.py
)
ALONE=(tests/integration/test_database_outage.py)
ignores=()
for path in "${ISOLATED[@]}" "${ALONE[@]}"; do ignores+=(--ignore "$path"); done
logs=test-logs
mkdir -p "$logs"
PYTEST=(.venv/bin/pytest -p no:cacheprovider --durations=15)

echo "==> pytest, two groups in parallel (output in $logs/)"
began=$SECONDS
"${PYTEST[@]}" "${ISOLATED[@]}" >"$logs/isolated.log" 2>&1 &
isolated=$!
"${PYTEST[@]}" tests "${ignores[@]}" >"$logs/rest.log" 2>&1 &
rest=$!
status=0
wait "$isolated" || status=$?
echo "    isolated group done after $((SECONDS - began)) s (exit $status)"
rest_status=0
wait "$rest" || rest_status=$?
echo "    other group done after $((SECONDS - began)) s (exit $rest_status)"
echo "==> pytest, alone: ${ALONE[*]}"
alone_status=0
"${PYTEST[@]}" "${ALONE[@]}" >"$logs/alone.log" 2>&1 || alone_status=$?
for log in isolated rest alone; do
    echo "================================ $log ================================"
    cat "$logs/$log.log"
done
echo "==> pytest took $((SECONDS - began)) s"
if [ "$status" -ne 0 ] || [ "$rest_status" -ne 0 ] || [ "$alone_status" -ne 0 ]; then
    echo "==> FAILED: isolated exit $status, others exit $rest_status, alone exit $alone_status"
    exit 1
fi
