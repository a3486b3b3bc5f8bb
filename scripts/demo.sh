#!/usr/bin/env bash
# The main job: installs Dockyard and the Docker Engine, starts `dockyard up`,
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
  mkdir -p "$data"
  nohup .venv/bin/dockyard up --data-dir "$data" --port "$port" >"$data/dockyard.log" 2>&1 &
  echo $! >"$data/dockyard.pid"
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.5
  done
fi

osc() { env -u OS_CLOUD -u OS_AUTH_URL .venv/bin/openstack --os-auth-type none \
          --os-endpoint "$endpoint" appcontainer "$@"; }
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
osc delete "$name" >/dev/null
echo "==> Dockyard keeps running on $endpoint (stop it with: kill \$(cat $data/dockyard.pid))"
