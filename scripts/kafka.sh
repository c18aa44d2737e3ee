#!/usr/bin/env bash
# A throwaway Apache Kafka on 127.0.0.1 for the tests and the local cluster mode, no Docker:
# Kafka 3.9 in KRaft mode (one process is both broker and controller), from Maven Central's jars.
#
#   scripts/kafka.sh [start]   fetch the jars if needed, format the storage once, start the
#                              broker if stopped; the bootstrap servers (127.0.0.1:PORT) are
#                              the last line on stdout (progress goes to stderr)
#   scripts/kafka.sh stop      stop the broker (its data stays for next time)
#   scripts/kafka.sh status    exit 0 and print the bootstrap servers if it is up, else exit 1
#   scripts/kafka.sh reset     stop it and delete its data (topics, offsets): a fresh cluster
#   scripts/kafka.sh tool NAME [ARG...]
#                              run one of Kafka's console tools against the broker (the local
#                              one, or KAFKA_BOOTSTRAP_SERVERS): console-consumer,
#                              console-producer, topics, consumer-groups, get-offsets; e.g.
#                              `scripts/kafka.sh tool console-consumer --topic T --from-beginning`
#
# If KAFKA_BOOTSTRAP_SERVERS is set, that cluster is used and nothing is done.
# Settings: CUSTOMERHUB_KAFKA_PORT (29092, or the next free pair of ports when another program
# holds it and no port was asked for; the controller listens on the port after the broker's),
# CUSTOMERHUB_KAFKA_HEAP (512m), CUSTOMERHUB_LOCAL_DIR (default $REPO/.local: the jars, data,
# configuration, log and pid file go to its kafka/).
# Needs Java >= 11 and Maven: the first start downloads Kafka and its dependencies (about 46 MB)
# from Maven Central into ~/.m2 and copies them to .local/kafka/libs; later starts download
# nothing unless deploy/kafka/pom.xml changed. Topics are not made here: the relay creates the
# ones it publishes to (customerhub.customer.events, customerhub.equipment.events).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="${CUSTOMERHUB_LOCAL_DIR:-$REPO/.local}"
PORT="${CUSTOMERHUB_KAFKA_PORT:-29092}"
PORT_ASKED="${CUSTOMERHUB_KAFKA_PORT:+yes}"
HEAP="${CUSTOMERHUB_KAFKA_HEAP:-512m}"
HOST=127.0.0.1
POM="$REPO/deploy/kafka/pom.xml"
KAFKA_DIR="$LOCAL_DIR/kafka"
LIBS="$KAFKA_DIR/libs"
DATA="$KAFKA_DIR/data"
CONFIG="$KAFKA_DIR/server.properties"
LOG4J="$KAFKA_DIR/log4j.properties"
LOGFILE="$KAFKA_DIR/kafka.log"
PIDFILE="$KAFKA_DIR/kafka.pid"
PORTFILE="$KAFKA_DIR/kafka.port"
START_TIMEOUT=90 # seconds for the broker to say it started, once the JVM is launched
COMMAND="${1:-start}"

say() { echo "kafka.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
# shellcheck source=lib/servers.sh
source "$REPO/scripts/lib/servers.sh"

case "$COMMAND" in
    start | stop | status | reset | tool) ;;
    *) die "usage: $0 [start|stop|status|reset] | tool NAME [ARG...]" ;;
esac

# The jars: Maven resolves the pom's artifacts into ~/.m2 (its usual cache) and copies them to
# the directory given; the stamp records which pom they came from, so a changed pom fetches again.
fetch_jars() {
    local dir="$1" fetch_start
    [[ -f "$dir/.complete" && ! "$POM" -nt "$dir/.complete" ]] && return 0
    command -v mvn >/dev/null || die "Maven is needed to fetch Kafka's jars and none was found;
    install it (apt-get install maven), or set KAFKA_BOOTSTRAP_SERVERS"
    say "fetching Kafka's jars with Maven into ~/.m2 (the first time downloads about 50 MB)"
    fetch_start=$SECONDS
    rm -rf "$dir.tmp"
    # (sed: Maven's quiet mode still prints colour resets; pipefail keeps mvn's exit status)
    mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$dir.tmp" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2 \
        || { rm -rf "$dir.tmp"; die "mvn could not fetch Kafka"; }
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    touch "$dir/.complete"
    say "jars ready in $((SECONDS - fetch_start))s"
}

if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" && "$COMMAND" != tool ]]; then
    say "KAFKA_BOOTSTRAP_SERVERS is set; leaving the local Kafka alone"
    [[ "$COMMAND" == start || "$COMMAND" == status ]] && echo "$KAFKA_BOOTSTRAP_SERVERS"
    exit 0
fi

bootstrap() { echo "$HOST:$1"; }

our_pid() { # prints the pid from the pid file if that process is alive and is our broker
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: the process must be a JVM running our configuration.
    if [[ -r "/proc/$pid/cmdline" ]]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$CONFIG" || return 1
    fi
    echo "$pid"
}

running_port() { cat "$PORTFILE" 2>/dev/null || echo "$PORT"; }

started() { grep -q "Kafka Server started" "$LOGFILE" 2>/dev/null; }

bootstrap_of_running() { # the local broker's bootstrap servers, if it serves
    our_pid >/dev/null && port_open "$(running_port)" && bootstrap "$(running_port)"
}

# --- tool: Kafka's console tools, from jars of their own (a running broker keeps its own) -------

if [[ "$COMMAND" == tool ]]; then
    shift # "tool"
    name="${1:-}"
    shift || true
    case "$name" in
        console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
        console-producer) class=kafka.tools.ConsoleProducer ;;
        topics) class=org.apache.kafka.tools.TopicCommand ;;
        consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
        get-offsets) class=org.apache.kafka.tools.GetOffsetShell ;;
        *) die "usage: $0 tool console-consumer|console-producer|topics|consumer-groups|get-offsets [ARG...]" ;;
    esac
    command -v java >/dev/null || die "Java (>= 11) is needed to run Kafka's tools"
    servers="${KAFKA_BOOTSTRAP_SERVERS:-$(bootstrap_of_running)}" \
        || die "no broker: start one (scripts/kafka.sh start, make cluster) or set KAFKA_BOOTSTRAP_SERVERS"
    mkdir -p "$KAFKA_DIR"
    (
        flock 9
        fetch_jars "$KAFKA_DIR/tools"
    ) 9>>"$KAFKA_DIR/.tools.lock"
    printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=%%p %%m%%n\n' \
        >"$KAFKA_DIR/tools-log4j.properties"
    exec java -Xmx256m -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" \
        -cp "$KAFKA_DIR/tools/*" "$class" --bootstrap-server "$servers" "$@"
fi


# --- status / stop / reset --------------------------------------------------------------------

if [[ "$COMMAND" == status ]]; then
    if pid="$(our_pid)" && port_open "$(running_port)" && started; then
        say "running (pid $pid)"
        bootstrap "$(running_port)"
        exit 0
    fi
    say "not running"
    exit 1
fi

if [[ "$COMMAND" == stop || "$COMMAND" == reset ]]; then
    take_lock "$KAFKA_DIR"
    stop_server 30
    if [[ "$COMMAND" == reset ]]; then
        say "deleting $DATA"
        rm -rf "$DATA" "$CONFIG"
    fi
    exit 0
fi

# --- start ------------------------------------------------------------------------------------

take_lock "$KAFKA_DIR"

if pid="$(our_pid)"; then
    running="$(running_port)"
    if [[ "$running" != "$PORT" && -n "$PORT_ASKED" ]]; then
        die "Kafka already runs on port $running (pid $pid), not $PORT; run '$0 stop' first"
    fi
    PORT="$running"
    if port_open "$PORT" && started; then
        say "already running on $HOST:$PORT (pid $pid)"
        bootstrap "$PORT"
        exit 0
    fi
    # Alive but not serving (starts hold the lock until it serves): wedged. Restart it.
    say "pid $pid is alive but not serving on port $PORT; restarting it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
fi
rm -f "$PIDFILE" "$PORTFILE"

# Another program (say, a broker of another checkout) on the default ports: take the next free
# pair, since callers read the address from our last line anyway.
if [[ -z "$PORT_ASKED" ]]; then
    while port_open "$PORT" || port_open "$((PORT + 1))"; do
        PORT=$((PORT + 2))
        ((PORT < 29092 + 200)) || die "no free pair of ports in 29092-29291"
    done
fi
CONTROLLER_PORT=$((PORT + 1))
for port in "$PORT" "$CONTROLLER_PORT"; do
    if port_open "$port"; then
        die "port $port on $HOST is taken by another program; set CUSTOMERHUB_KAFKA_PORT to a
    free port (the controller uses the next one), or KAFKA_BOOTSTRAP_SERVERS to use that cluster"
    fi
done

command -v java >/dev/null || die "Java (>= 11) is needed to run Kafka and none was found;
    install it (apt-get install openjdk-17-jre-headless), or set KAFKA_BOOTSTRAP_SERVERS"

fetch_jars "$LIBS"

JAVA_OPTS=(
    "-Xms128m" "-Xmx$HEAP" "-XX:+UseG1GC" "-XX:MaxGCPauseMillis=20"
    "-XX:+ExitOnOutOfMemoryError" "-Djava.awt.headless=true"
    "-Xshare:auto" # class-data sharing: a shorter start
    "-Dlog4j.configuration=file:$LOG4J" "-Dkafka.logs.dir=$KAFKA_DIR"
)

# A single node on loopback; rewritten on every start so a changed port takes effect. Test
# friendly: no rebalance delay, single replicas, small internal topics.
cat >"$CONFIG" <<EOF
# Written by scripts/kafka.sh on every start: edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
log.retention.hours=168
num.network.threads=2
num.io.threads=4
background.threads=4
EOF

cat >"$LOG4J" <<'EOF'
# Warnings only (tests create and delete many topics), but the lifecycle lines stay: this
# script reads "Kafka Server started" from the log to know the broker serves.
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/kafka.log
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
EOF

if [[ ! -f "$DATA/meta.properties" ]]; then
    # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding.
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    say "formatting the storage in $DATA (cluster $cluster_id)"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    java "${JAVA_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$CONFIG" >&2 9>&- || die "kafka.tools.StorageTool format failed"
fi

: >"$LOGFILE" # a fresh log per start: readiness is read from it
say "starting on $HOST:$PORT (controller $CONTROLLER_PORT, heap $HEAP, log: $LOGFILE)"
# setsid: its own session, so a Ctrl-C meant for the caller does not reach it.
# 9>&-: the broker must not inherit the lock, or it would hold it for as long as it runs.
# Its output goes to the log file only, so callers that capture our stdout do not wait on it.
setsid java "${JAVA_OPTS[@]}" -cp "$LIBS/*" kafka.Kafka "$CONFIG" \
    </dev/null >>"$KAFKA_DIR/kafka.out" 2>&1 9>&- &
pid=$!
echo "$pid" >"$PIDFILE"
echo "$PORT" >"$PORTFILE"

# The port opens before the broker serves; the log's "Kafka Server started" is the real signal.
deadline=$((SECONDS + START_TIMEOUT))
until port_open "$PORT" && started; do
    if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 30 "$LOGFILE" "$KAFKA_DIR/kafka.out" >&2 || true
        rm -f "$PIDFILE" "$PORTFILE"
        die "Kafka exited before it started (log above: $LOGFILE)"
    fi
    if ((SECONDS >= deadline)); then
        tail -n 30 "$LOGFILE" >&2 || true
        kill -TERM "$pid" 2>/dev/null || true
        rm -f "$PIDFILE" "$PORTFILE"
        die "Kafka did not start within ${START_TIMEOUT}s (log: $LOGFILE)"
    fi
    sleep 0.1
done
say "ready (pid $pid)"
bootstrap "$PORT"
