#!/usr/bin/env bash
# Installs Debian's zsh, which the CLI tests run `dockyard completion zsh` in.
# Idempotent: does nothing when zsh is already installed.
set -euo pipefail
if command -v zsh >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing zsh"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends zsh >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends zsh >/dev/null
}
