#!/usr/bin/env bash
# Builds a small image from Debian's static busybox, without any registry.
# Usage: build-test-image.sh [NAME:TAG] [DOCKER_HOST]
set -euo pipefail
image=${1:-dockyard-test/busybox:latest}
[ -n "${2:-}" ] && export DOCKER_HOST=$2

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "==> image $image already present"
  exit 0
fi
if [ ! -x /bin/busybox ]; then
  echo "==> installing busybox-static"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/var/www"
cp /bin/busybox "$root/bin/busybox"
for applet in sh ash sleep echo cat ls env id hostname ip httpd wget top ps printf \
              true false kill mkdir rm touch head tail grep sed wc seq date uname dd trap; do
  ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo '<h1>dockyard test page</h1>' >"$root/var/www/index.html"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo "==> built $image"
