#!/usr/bin/env bash
# Makes sure a single-node Apache Kafka 3.9 broker (KRaft: broker + controller in
# one JVM) answers on 127.0.0.1:$BATON_KAFKA_PORT. No Docker: the broker's jars
# come from Maven Central through deploy/local/kafka/pom.xml and are cached.
# Idempotent; used by .ci/run and by developers. Stop it with kafka-stop.sh.
#
#   BATON_KAFKA_PORT             client listener (default 9092)
#   BATON_KAFKA_CONTROLLER_PORT  KRaft controller listener (default 9093)
#   BATON_KAFKA_DIR              state dir (default deploy/local/.kafka, gitignored):
#                                  kafka-<version>/libs  jars (reused across starts)
#                                  data/                 KRaft metadata + topic logs
#                                  logs/                 server.log, kafka.out
#                                  cluster.id, server.properties, log4j.properties, kafka.pid
#   BATON_KAFKA_HEAP             JVM heap (default 512m)
#   BATON_KAFKA_START_TIMEOUT    seconds to wait for the broker (default 60)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
POM="$HERE/kafka/pom.xml"
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
PORT=${BATON_KAFKA_PORT:-9092}
CONTROLLER_PORT=${BATON_KAFKA_CONTROLLER_PORT:-9093}
DIR=${BATON_KAFKA_DIR:-$HERE/.kafka}
HEAP=${BATON_KAFKA_HEAP:-512m}
TIMEOUT=${BATON_KAFKA_START_TIMEOUT:-60}
HOST=127.0.0.1

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
LIBS="$DIR/kafka-$VERSION/libs"
DATA="$DIR/data"
LOGS="$DIR/logs"
PIDFILE="$DIR/kafka.pid"

# A metadata round trip through kafkajs (node and kafkajs are in the repo).
ping_kafka() { (cd "$ROOT" && node "$HERE/kafka-ping.mjs" "$HOST:$PORT") >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
our_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q kafka.Kafka "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}
LOG_FROM=0 # bytes of server.log written before this start
log_tail() {
  echo "---- $LOGS/kafka.out (tail) ----" >&2
  tail -n 20 "$LOGS/kafka.out" >&2 2>/dev/null || true
  if [ -f "$LOGS/server.log" ]; then
    echo "---- $LOGS/server.log: errors of this start ----" >&2
    tail -c +$((LOG_FROM + 1)) "$LOGS/server.log" | grep -E '^\[[^]]*\] (ERROR|FATAL) ' | tail -n 20 >&2 || true
    echo "---- $LOGS/server.log (tail) ----" >&2
    tail -c +$((LOG_FROM + 1)) "$LOGS/server.log" | tail -n 30 >&2 || true
  fi
}

if ping_kafka; then
  echo "kafka: up on $HOST:$PORT (already running)"
  exit 0
fi

if ! pid=$(our_pid); then
  for p in "$PORT" "$CONTROLLER_PORT"; do
    if port_open "$p"; then
      echo "kafka: port $HOST:$p is taken by something that is not this broker; set BATON_KAFKA_PORT / BATON_KAFKA_CONTROLLER_PORT" >&2
      exit 1
    fi
  done

  # 1. Jars, fetched once per version.
  if [ ! -f "$LIBS/.complete" ]; then
    echo "kafka: fetching Apache Kafka $VERSION jars from Maven Central into $LIBS"
    rm -rf "$LIBS"
    if ! mvn -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIBS" \
      >"$DIR/mvn.log" 2>&1; then
      tail -n 40 "$DIR/mvn.log" >&2
      echo "kafka: fetching the jars failed (full log: $DIR/mvn.log)" >&2
      exit 1
    fi
    touch "$LIBS/.complete"
  fi

  # 2. Configuration, rewritten on every start so the env settings apply.
  mkdir -p "$DATA" "$LOGS"
  cat >"$DIR/server.properties" <<PROPS
# Written by deploy/local/kafka-start.sh; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=72
log.segment.bytes=67108864
PROPS
  cat >"$DIR/log4j.properties" <<'PROPS'
# Written by deploy/local/kafka-start.sh; edits are overwritten.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
PROPS
  JAVA_OPTS=(
    "-Xms128m" "-Xmx$HEAP" "-XX:+UseG1GC" "-XX:MaxGCPauseMillis=20" "-XX:+ExitOnOutOfMemoryError"
    "-Djava.awt.headless=true" "-Dkafka.logs.dir=$LOGS" "-Dlog4j.configuration=file:$DIR/log4j.properties"
  )

  # 3. Storage, formatted once with a cluster id kept for reuse.
  if [ ! -f "$DATA/meta.properties" ]; then
    if [ ! -s "$DIR/cluster.id" ]; then
      java "${JAVA_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid | tail -n 1 >"$DIR/cluster.id"
    fi
    echo "kafka: formatting $DATA (cluster id $(cat "$DIR/cluster.id"))"
    java "${JAVA_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
      -t "$(cat "$DIR/cluster.id")" -c "$DIR/server.properties" --ignore-formatted >>"$LOGS/format.out" 2>&1 || {
      cat "$LOGS/format.out" >&2
      exit 1
    }
  fi

  # 4. The broker, in the background in its own session so it outlives this shell.
  LOG_FROM=$(stat -c %s "$LOGS/server.log" 2>/dev/null || echo 0)
  echo "kafka: starting Apache Kafka $VERSION on $HOST:$PORT (controller $CONTROLLER_PORT, state $DIR)"
  nohup setsid java "${JAVA_OPTS[@]}" -cp "$LIBS/*" kafka.Kafka "$DIR/server.properties" \
    >"$LOGS/kafka.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
else
  echo "kafka: pid $pid is starting; waiting for it"
fi

# 5. Wait until it answers.
deadline=$((SECONDS + TIMEOUT))
while ((SECONDS < deadline)); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "kafka: broker (pid $pid) exited during start" >&2
    log_tail
    rm -f "$PIDFILE"
    exit 1
  fi
  if port_open "$PORT" && ping_kafka; then
    echo "kafka: up on $HOST:$PORT (pid $pid)"
    exit 0
  fi
  sleep 0.5
done
echo "kafka: did not answer on $HOST:$PORT within $TIMEOUT s (pid $pid still running; stop it with kafka-stop.sh)" >&2
log_tail
exit 1
