#!/usr/bin/env bash
# Serves a Docker registry on 127.0.0.1:5001 and pushes the test image to it.
set -euo pipefail
addr=127.0.0.1:5001
image=${1:-dockyard-test/busybox:latest}

if ! command -v docker-registry >/dev/null 2>&1; then
  echo "==> installing docker-registry"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
fi
if ! curl -fsS "http://$addr/v2/" >/dev/null 2>&1; then
  dir=/var/lib/dockyard-test-registry
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: $addr}
YML
  echo "==> starting a registry on $addr"
  nohup docker-registry serve "$dir/config.yml" >/var/log/dockyard-test-registry.log 2>&1 &
  for _ in $(seq 1 30); do
    curl -fsS "http://$addr/v2/" >/dev/null 2>&1 && break
    sleep 0.5
  done
fi
docker tag "$image" "$addr/$image"
docker push -q "$addr/$image" >/dev/null
echo "==> registry $addr serves $addr/$image"
