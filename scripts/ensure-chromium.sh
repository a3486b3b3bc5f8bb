#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver for the dashboard's browser tests.
# Idempotent: does nothing when both are already installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null
}
