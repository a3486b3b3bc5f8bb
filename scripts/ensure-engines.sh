#!/usr/bin/env bash
# Starts N extra, independent Docker engines (to play extra compute hosts) and imports
# the test image into each. Idempotent: an engine already answering is left alone.
#
# Usage: ensure-engines.sh [N]   (default 2)
# Engine i (1..N): bridge dyk-br<i> at 172.31.<i>.1/24, socket
# /run/dockyard-engines/<i>/docker.sock, data and exec roots under
# /var/lib/dockyard-engines/<i>, log /var/log/dockyard-engine-<i>.log.
# Never `--bridge none`: that deletes the main engine's docker0 (NOTES-machine.md).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-2}
image=${DOCKYARD_TEST_IMAGE:-dockyard-test/busybox:latest}

command -v dockerd >/dev/null 2>&1 || { echo "dockerd is not installed: run scripts/ensure-docker.sh" >&2; exit 1; }

answers() { DOCKER_HOST="unix://$1" docker info >/dev/null 2>&1; }

for i in $(seq 1 "$count"); do
  bridge="dyk-br$i"
  subnet="172.31.$i.0/24"
  address="172.31.$i.1/24"
  run="/run/dockyard-engines/$i"
  lib="/var/lib/dockyard-engines/$i"
  sock="$run/docker.sock"
  mkdir -p "$run" "$lib"

  if ! ip link show "$bridge" >/dev/null 2>&1; then
    # Refuse a subnet some other interface already routes (only our own bridge may).
    if ip -4 route show | awk '{print $1, $3}' | grep -E "^172\.31\.$i\.[0-9]+(/[0-9]+)? " \
        | grep -v " $bridge\$" >/dev/null; then
      echo "172.31.$i.0/24 is already routed elsewhere; refusing to add $bridge" >&2
      ip -4 route show | grep "^172\.31\.$i\." >&2
      exit 1
    fi
    ip link add "$bridge" type bridge
  fi
  if ! ip -4 addr show dev "$bridge" | grep -q "inet $address"; then
    ip addr add "$address" dev "$bridge"
  fi
  ip link set "$bridge" up
  # Whatever route the kernel now has for the subnet must be ours.
  owner=$(ip -4 route show "$subnet" | awk '{for (f = 1; f < NF; f++) if ($f == "dev") print $(f + 1)}')
  if [ -n "$owner" ] && [ "$owner" != "$bridge" ]; then
    echo "$subnet is routed via $owner, not $bridge" >&2
    exit 1
  fi

  if ! answers "$sock"; then
    if [ -f "$run/docker.pid" ] && kill -0 "$(cat "$run/docker.pid")" 2>/dev/null; then
      echo "==> engine $i (pid $(cat "$run/docker.pid")) is starting; waiting"
    else
      echo "==> starting engine $i on $sock (bridge $bridge)"
      rm -f "$run/docker.pid" "$sock"
      nohup dockerd \
        --data-root "$lib/data" \
        --exec-root "$run/exec" \
        -H "unix://$sock" \
        --pidfile "$run/docker.pid" \
        --containerd-namespace "dyk$i" \
        --containerd-plugins-namespace "dyk${i}p" \
        --bridge "$bridge" \
        >"/var/log/dockyard-engine-$i.log" 2>&1 &
    fi
  fi
  # One at a time: engines starting together race on iptables ("Chain already exists").
  for _ in $(seq 1 60); do
    answers "$sock" && break
    sleep 0.5
  done
  answers "$sock" || { echo "engine $i did not start; see /var/log/dockyard-engine-$i.log" >&2; exit 1; }
done

for i in $(seq 1 "$count"); do
  sock="/run/dockyard-engines/$i/docker.sock"
  bash scripts/build-test-image.sh "$image" "unix://$sock" | sed "s/^==> /==> engine $i: /"
done
echo "==> $count extra Docker engines are running"
