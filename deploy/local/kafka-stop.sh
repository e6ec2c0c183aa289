#!/usr/bin/env bash
# Stops the broker that kafka-start.sh started (by its pid file) and waits for
# it to exit: SIGTERM (a controlled shutdown), then SIGKILL after
# BATON_KAFKA_STOP_TIMEOUT seconds (default 30). Idempotent.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${BATON_KAFKA_DIR:-$HERE/.kafka}
PIDFILE="$DIR/kafka.pid"
TIMEOUT=${BATON_KAFKA_STOP_TIMEOUT:-30}

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || ! grep -q kafka.Kafka "/proc/$pid/cmdline" 2>/dev/null; then
  echo "kafka: not running (no live broker in $PIDFILE)"
  rm -f "$PIDFILE"
  exit 0
fi
echo "kafka: stopping pid $pid"
kill -TERM "$pid"
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$pid" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "kafka: pid $pid still running after $TIMEOUT s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
    break
  fi
  sleep 0.2
done
rm -f "$PIDFILE"
echo "kafka: stopped"
