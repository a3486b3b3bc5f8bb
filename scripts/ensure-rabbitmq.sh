#!/usr/bin/env bash
# Starts the machine's RabbitMQ when it is installed but not answering on 127.0.0.1:5672.
# Where it is not installed at all, the broker tests skip loudly (and fail under CI).
set -uo pipefail
answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if command -v rabbitmq-server >/dev/null 2>&1 && ! answers; then
  echo "==> starting RabbitMQ"
  rabbitmq-server -detached
  for _ in $(seq 1 60); do
    answers && break
    sleep 1
  done
fi
exit 0
