#!/usr/bin/env bash
# The main job: installs Dockyard and the Docker Engine, starts `dockyard up`,
# logs in as the admin Dockyard created on first start (its own Keystone-v3 identity),
# runs a container through the Zun API with the real OpenStack client, shows its output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
bash scripts/ensure-docker.sh
bash scripts/build-test-image.sh

port=${DOCKYARD_PORT:-9517}
data=${DOCKYARD_DATA_DIR:-/var/lib/dockyard}
endpoint="http://127.0.0.1:$port/v1"
if ! curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1; then
  echo "==> starting dockyard up (log: $data/dockyard.log)"
  # On first start the admin's password is printed to the log: keep both private.
  umask 077
  install -d -m 0700 "$data"
  nohup .venv/bin/dockyard up --data-dir "$data" --port "$port" >"$data/dockyard.log" 2>&1 &
  echo $! >"$data/dockyard.pid"
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.5
  done
fi

openrc="$data/admin-openrc"
if [ ! -r "$openrc" ]; then
  echo "$openrc is missing: is the service on port $port running with auth_strategy=local?" >&2
  exit 1
fi
echo "==> source $openrc  (the admin credentials \`dockyard up\` printed on first start)"
unset OS_CLOUD
# shellcheck disable=SC1090
source "$openrc"
echo "    OS_AUTH_URL=$OS_AUTH_URL OS_USERNAME=$OS_USERNAME OS_PROJECT_NAME=$OS_PROJECT_NAME"
osc() { .venv/bin/openstack appcontainer "$@"; }
name="hello-$(date +%s)"
echo "==> openstack appcontainer run --name $name dockyard-test/busybox:latest ..."
osc run --name "$name" --memory 64 --cpu 0.5 dockyard-test/busybox:latest \
  sh -c 'echo "Hello from a Dockyard container on $(hostname)"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes' >/dev/null
for _ in $(seq 1 60); do
  status=$(osc show "$name" -f value -c status)
  [ "$status" = Running ] || [ "$status" = Stopped ] || [ "$status" = Error ] && break
  sleep 0.5
done
osc show "$name" -c name -c image -c status -c status_detail -c memory -c cpu
echo "==> its output (appcontainer logs $name):"
osc logs "$name"
echo "==> the zun CLI works with the same credentials (zun list):"
.venv/bin/zun list
osc delete "$name" >/dev/null
echo "==> Dockyard keeps running on $endpoint (stop it with: kill \$(cat $data/dockyard.pid))"
