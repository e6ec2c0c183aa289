#!/usr/bin/env bash
# Makes sure a local MariaDB/MySQL answers on 127.0.0.1:3306 (root, no password),
# starting the Debian package's server if it is installed and stopped.
# Idempotent; used by .ci/run and by developers.
set -euo pipefail
HOST=${BATON_MYSQL_HOST:-127.0.0.1}
PORT=${BATON_MYSQL_PORT:-3306}

ping_db() { mariadb -h "$HOST" -P "$PORT" -uroot -e 'SELECT 1' >/dev/null 2>&1; }

if ping_db; then
  echo "mariadb: up on $HOST:$PORT"
  exit 0
fi
if [ -x /usr/sbin/mariadbd ]; then
  echo "mariadb: starting /usr/sbin/mariadbd"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
else
  echo "mariadb: not installed and not answering on $HOST:$PORT" >&2
  exit 1
fi
for _ in $(seq 1 60); do
  if ping_db; then
    echo "mariadb: up on $HOST:$PORT"
    exit 0
  fi
  sleep 1
done
echo "mariadb: did not come up within 60 s" >&2
exit 1
