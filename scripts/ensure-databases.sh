#!/usr/bin/env bash
# Starts the machine's PostgreSQL and MariaDB when they are installed but not answering.
# Where a server is not installed at all, its tests skip loudly (and fail under CI).
set -uo pipefail
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if [ -x /usr/sbin/mariadbd ] && ! mysqladmin -h 127.0.0.1 -u root status >/dev/null 2>&1; then
  echo "==> starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 30); do
    mysqladmin -h 127.0.0.1 -u root status >/dev/null 2>&1 && break
    sleep 1
  done
fi
exit 0
