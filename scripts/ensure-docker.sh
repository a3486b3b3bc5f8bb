#!/usr/bin/env bash
# Installs the Docker Engine when absent and makes sure its daemon answers.
set -euo pipefail

if ! command -v dockerd >/dev/null 2>&1; then
  echo "==> installing the Docker Engine (docker.io)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "==> starting dockerd"
  nohup /usr/sbin/dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
echo "==> Docker Engine $(docker version --format '{{.Server.Version}}') is running"
