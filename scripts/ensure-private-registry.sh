#!/usr/bin/env bash
# Serves a registry that demands a login (htpasswd, bcrypt) on 127.0.0.1:5002 and pushes
# the test image to it, for the private-registry tests. Idempotent; ensure-registry.sh
# installs docker-registry first. The client login is dropped again afterwards, so only
# credentials Dockyard passes along can pull from it.
set -euo pipefail
cd "$(dirname "$0")/.."
addr=127.0.0.1:5002
user=${DOCKYARD_PRIVATE_REGISTRY_USER:-dockyard-test}
password=${DOCKYARD_PRIVATE_REGISTRY_PASSWORD:-Pr1vate-Registry-Pw}
image=${1:-dockyard-test/busybox:latest}
dir=/var/lib/dockyard-private-registry

if ! command -v docker-registry >/dev/null 2>&1; then
  echo "==> installing docker-registry"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
fi

bcrypt_hash() {
  if [ -x .venv/bin/python ] && .venv/bin/python -c "import bcrypt" 2>/dev/null; then
    .venv/bin/python -c 'import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=10)).decode())' "$password"
    return
  fi
  if ! command -v htpasswd >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils >/dev/null
  fi
  htpasswd -nbB -C 10 "$user" "$password" | cut -d: -f2-
}

status=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/" || true)
if [ "$status" != 401 ]; then
  mkdir -p "$dir/data"
  echo "$user:$(bcrypt_hash)" >"$dir/htpasswd"
  cat >"$dir/config.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: $addr}
auth: {htpasswd: {realm: dockyard-test, path: $dir/htpasswd}}
YML
  echo "==> starting a registry with htpasswd auth on $addr"
  nohup docker-registry serve "$dir/config.yml" >/var/log/dockyard-private-registry.log 2>&1 &
  for _ in $(seq 1 30); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/" || true)
    [ "$status" = 401 ] && break
    sleep 0.5
  done
  [ "$status" = 401 ] || { echo "registry on $addr did not start (HTTP $status)" >&2; exit 1; }
fi
# The served htpasswd must hold this user's password (a stale file from another run would not).
curl -fsS -u "$user:$password" "http://$addr/v2/" >/dev/null \
  || { echo "registry on $addr refuses $user; stop it and rerun" >&2; exit 1; }

docker tag "$image" "$addr/$image"
echo "$password" | docker login -u "$user" --password-stdin "$addr" >/dev/null
trap 'docker logout "$addr" >/dev/null 2>&1 || true' EXIT
docker push -q "$addr/$image" >/dev/null
# The engine must not keep a local copy under this name: tests check real pulls.
docker rmi "$addr/$image" >/dev/null
echo "==> registry $addr (user $user) serves $addr/$image"
