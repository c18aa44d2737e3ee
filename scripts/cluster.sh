#!/usr/bin/env bash
# The local cluster mode, no Docker: PostgreSQL (event store, keys, idempotency answers, relay
# checkpoint), Kafka (the bus), FerretDB (read store), and each service as its own OS process.
#
#   scripts/cluster.sh start      provision the servers with scripts/{postgres,kafka,ferretdb,seaweedfs}.sh,
#                                 then start every service that is not running yet and wait
#                                 until each serves; prints COMMAND_URL=…, QUERY_URL=…, EQUIPMENT_URL=…,
#                                 NOTIFICATIONS_URL=…, CONSOLE_URL=…, ENV_FILE=… on stdout (progress goes to stderr)
#   scripts/cluster.sh stop [SERVICE…]
#                                 stop those services (default: all of them, and then the
#                                 servers this script started; a server it found running, say
#                                 one a test run left, stays up and it says so)
#   scripts/cluster.sh status     each service (with its port) and each server (PostgreSQL,
#                                 Kafka, FerretDB: up or down, who started it); exit 0 when
#                                 every service runs
#
# Services: command   customer-command and the customers' equipment routes over HTTP (uvicorn,
#                     customerhub.write_side), with the ownership reconciler, port 8101
#           query     customer-query over HTTP, reading the read model only, port 8102
#           command-2…, query-2…, reconciler
#                     with CUSTOMERHUB_CLUSTER_REPLICAS=N (N > 1): N command replicas (ports
#                     8101, 8111, 8121…) and N query replicas (8102, 8112…) on the same stores,
#                     and the ownership reconciler as a process of its own (`customerhub
#                     reconcile`, CUSTOMERHUB_OWNERSHIP_RECONCILER=separate): exactly one
#           relay     `customerhub relay`: the event log to Kafka as CloudEvents
#           projector `customerhub consume customers`: Kafka to the customers read model
#           equipment the equipment registry over HTTP, its projector consuming Kafka, port 8103
#           notifications  the notification service over HTTP, consuming Kafka, port 8104
#           console   the web console, calling the four services above over HTTP, port 8105
#                     (its development sign-in only with CUSTOMERHUB_CONSOLE_DEV_SIGN_IN=true)
# Everything lives under .local/cluster/ (CUSTOMERHUB_CLUSTER_DIR): one pid file and one log per
# service in logs/, and cluster.env, the settings every process got (source it to talk to the
# cluster: `set -a; . .local/cluster/cluster.env; set +a; uv run customerhub token`).
#
# Settings: CUSTOMERHUB_CLUSTER_COMMAND_PORT (8101), CUSTOMERHUB_CLUSTER_QUERY_PORT (8102),
# CUSTOMERHUB_CLUSTER_EQUIPMENT_PORT (8103), CUSTOMERHUB_CLUSTER_NOTIFICATIONS_PORT (8104),
# CUSTOMERHUB_CLUSTER_CONSOLE_PORT (8105),
# CUSTOMERHUB_CLUSTER_DATABASE (customerhub_cluster: the PostgreSQL database made on the local
# server, and the MongoDB database unless CUSTOMERHUB_MONGODB_DATABASE is set),
# CUSTOMERHUB_PYTHON (the interpreter of the project's environment; default: uv's),
# CUSTOMERHUB_CLUSTER_REPLICAS (1: command and query replicas, see above),
# CUSTOMERHUB_CLUSTER_BLOB_STORE (s3: attachments' bytes in SeaweedFS's S3, or the server that
# CUSTOMERHUB_S3_ENDPOINT with CUSTOMERHUB_S3_ACCESS_KEY_ID/_SECRET_ACCESS_KEY names; `local`:
# files under the cluster's data directory, no SeaweedFS),
# CUSTOMERHUB_CLUSTER_READ_STORE (mongodb; `sqlite` puts the read model in one SQLite file the
# query service and the projector share, no FerretDB: a comparison for benchmarks).
# CUSTOMERHUB_POSTGRES_DSN, KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL, when set, point at servers
# someone else runs (used as they are, never stopped); any other CUSTOMERHUB_* setting (topics,
# batch sizes, CUSTOMERHUB_KAFKA_CONSUMER_GROUP_PREFIX, log level…) reaches every service.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="${CUSTOMERHUB_CLUSTER_DIR:-$REPO/.local/cluster}"
LOGS="$CLUSTER_DIR/logs"
ENV_FILE="$CLUSTER_DIR/cluster.env"
STARTED_SERVERS="$CLUSTER_DIR/servers-started"
ADOPTED_SERVERS="$CLUSTER_DIR/servers-adopted"
COMMAND_PORT="${CUSTOMERHUB_CLUSTER_COMMAND_PORT:-8101}"
QUERY_PORT="${CUSTOMERHUB_CLUSTER_QUERY_PORT:-8102}"
EQUIPMENT_PORT="${CUSTOMERHUB_CLUSTER_EQUIPMENT_PORT:-8103}"
NOTIFICATIONS_PORT="${CUSTOMERHUB_CLUSTER_NOTIFICATIONS_PORT:-8104}"
CONSOLE_PORT="${CUSTOMERHUB_CLUSTER_CONSOLE_PORT:-8105}"
DATABASE="${CUSTOMERHUB_CLUSTER_DATABASE:-customerhub_cluster}"
READ_STORE="${CUSTOMERHUB_CLUSTER_READ_STORE:-mongodb}"
BLOB_STORE="${CUSTOMERHUB_CLUSTER_BLOB_STORE:-s3}"
HOST=127.0.0.1
START_TIMEOUT=90 # seconds for one service to serve once started
REPLICAS="${CUSTOMERHUB_CLUSTER_REPLICAS:-1}"
REPLICA_PORT_STEP=10 # replica k listens on the first replica's port + 10 * (k - 1)

say() { echo "cluster.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
setting() { grep -m1 "^$1=" "$ENV_FILE" 2>/dev/null | cut -d= -f2-; }

[[ "$REPLICAS" =~ ^[1-9][0-9]?$ ]] || die "CUSTOMERHUB_CLUSTER_REPLICAS must be 1-99, not $REPLICAS"
# What runs follows what was started: the settings in cluster.env, once a start wrote them.
some_service_alive() {
    local pidfile
    for pidfile in "$CLUSTER_DIR"/*.pid; do
        [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null && return 0
    done
    return 1
}
if [[ -f "$ENV_FILE" ]] && { [[ "${1:-start}" != start ]] || some_service_alive; }; then
    REPLICAS="$(setting CUSTOMERHUB_CLUSTER_REPLICAS)"
    REPLICAS="${REPLICAS:-1}"
    COMMAND_PORT="$(setting CUSTOMERHUB_CLUSTER_COMMAND_PORT)"
    QUERY_PORT="$(setting CUSTOMERHUB_CLUSTER_QUERY_PORT)"
    EQUIPMENT_PORT="$(setting CUSTOMERHUB_CLUSTER_EQUIPMENT_PORT)"
    NOTIFICATIONS_PORT="$(setting CUSTOMERHUB_CLUSTER_NOTIFICATIONS_PORT)"
    CONSOLE_PORT="$(setting CUSTOMERHUB_CLUSTER_CONSOLE_PORT)"
    COMMAND_PORT="${COMMAND_PORT:-8101}" QUERY_PORT="${QUERY_PORT:-8102}"
    EQUIPMENT_PORT="${EQUIPMENT_PORT:-8103}" NOTIFICATIONS_PORT="${NOTIFICATIONS_PORT:-8104}"
    CONSOLE_PORT="${CONSOLE_PORT:-8105}"
fi

SERVICES=(command query)
for ((k = 2; k <= REPLICAS; k++)); do SERVICES+=("command-$k" "query-$k"); done
((REPLICAS > 1)) && SERVICES+=(reconciler)
SERVICES+=(projector relay equipment notifications console)

COMMAND="${1:-start}"
shift || true
case "$COMMAND" in
    start | stop | status) ;;
    *) die "usage: $0 start | stop [SERVICE...] | status" ;;
esac
case "$READ_STORE" in
    mongodb | sqlite) ;;
    *) die "CUSTOMERHUB_CLUSTER_READ_STORE must be mongodb or sqlite, not $READ_STORE" ;;
esac
case "$BLOB_STORE" in
    s3 | local) ;;
    *) die "CUSTOMERHUB_CLUSTER_BLOB_STORE must be s3 or local, not $BLOB_STORE" ;;
esac
for service in "$@"; do
    [[ " ${SERVICES[*]} " == *" $service "* ]] || die "unknown service $service (${SERVICES[*]})"
done

mkdir -p "$LOGS"

replica() { [[ "$1" == *-* ]] && echo "${1##*-}" || echo 1; }

port_of() { # the HTTP port of a service; nothing for the workers
    local k
    k="$(replica "$1")"
    case "$1" in
        command*) echo $((COMMAND_PORT + REPLICA_PORT_STEP * (k - 1))) ;;
        query*) echo $((QUERY_PORT + REPLICA_PORT_STEP * (k - 1))) ;;
        equipment) echo "$EQUIPMENT_PORT" ;;
        notifications) echo "$NOTIFICATIONS_PORT" ;;
        console) echo "$CONSOLE_PORT" ;;
    esac
}

# What each service runs, and a piece of its command line that tells it apart from any other
# process (a pid file may outlive its process, and pids are recycled).
app_of() {
    case "$1" in
        command*) echo "customerhub.write_side:create_app" ;;
        query*) echo "customer_query.bootstrap:create_app" ;;
        equipment) echo "equipment.bootstrap:create_app" ;;
        notifications) echo "notifications.bootstrap:create_app" ;;
        console) echo "web_console.bootstrap:create_app" ;;
    esac
}
service_args() {
    case "$1" in
        relay) echo "-m customerhub.cli relay" ;;
        projector) echo "-m customerhub.cli consume customers" ;;
        reconciler) echo "-m customerhub.cli reconcile" ;;
        *) echo "-m uvicorn $(app_of "$1") --factory --host $HOST --port $(port_of "$1") --no-access-log" ;;
    esac
}
signature() {
    case "$1" in
        relay) echo "customerhub.cli relay" ;;
        projector) echo "customerhub.cli consume customers" ;;
        reconciler) echo "customerhub.cli reconcile" ;;
        *) echo "$(app_of "$1") --factory --host $HOST --port $(port_of "$1") " ;;
    esac
}

pid_of() { # prints the service's pid if it runs (and is really that service)
    local pidfile="$CLUSTER_DIR/$1.pid" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(cat "$pidfile" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(signature "$1")" || return 1
    echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

alive() { # pid: the process runs (an exited one may stay a zombie until its new parent reaps it)
    kill -0 "$1" 2>/dev/null || return 1
    [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

stop_services() { # SIGTERM to each, then wait for all (a batch in hand is finished first)
    local service pid pids=() names=()
    for service in "$@"; do
        if pid="$(pid_of "$service")"; then
            say "stopping $service (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$service")
        fi
        rm -f "$CLUSTER_DIR/$service.pid"
    done
    for i in "${!pids[@]}"; do
        for _ in $(seq 1 300); do
            alive "${pids[$i]}" || break
            sleep 0.05
        done
        if alive "${pids[$i]}"; then
            say "${names[$i]} (pid ${pids[$i]}) ignored SIGTERM for 15s; killing it"
            kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
    done
}

# --- status ----------------------------------------------------------------------------------

server_address() { # server: host:port of the server cluster.env points at
    local url
    case "$1" in
        postgres) url="$(setting CUSTOMERHUB_POSTGRES_DSN)" ;;
        kafka) url="$(setting KAFKA_BOOTSTRAP_SERVERS)" ;;
        ferretdb) url="$(setting MONGODB_URL)" ;;
        seaweedfs) url="$(setting CUSTOMERHUB_S3_ENDPOINT)" ;;
    esac
    url="${url#*://}"
    url="${url#*@}"
    url="${url%%/*}"
    echo "${url%%,*}"
}

server_origin() { # server: who started it, as far as this script knows
    if grep -qx "$1" "$STARTED_SERVERS" 2>/dev/null; then
        echo "started by cluster.sh; cluster-stop stops it"
    elif grep -qx "$1" "$ADOPTED_SERVERS" 2>/dev/null; then
        echo "found running at start; cluster-stop leaves it"
    else
        echo "given by the caller's environment; never stopped here"
    fi
}

if [[ "$COMMAND" == status ]]; then
    all=0
    for service in "${SERVICES[@]}"; do
        port="$(port_of "$service")"
        if pid="$(pid_of "$service")"; then
            echo "$service: running (pid $pid${port:+, http://$HOST:$port})"
        else
            echo "$service: stopped"
            all=3
        fi
    done
    [[ -f "$ENV_FILE" ]] && grep -E '^[A-Z]+_URLS?=' "$ENV_FILE" || true
    for server in postgres kafka ferretdb seaweedfs; do
        address="$(server_address "$server")"
        [[ -n "$address" ]] || continue
        if (exec 3<>"/dev/tcp/${address%:*}/${address##*:}") 2>/dev/null; then
            echo "$server: running on $address ($(server_origin "$server"))"
        else
            echo "$server: not answering on $address ($(server_origin "$server"))"
        fi
    done
    exit "$all"
fi

# --- stop ------------------------------------------------------------------------------------

exec 9>>"$CLUSTER_DIR/.lock"
flock 9

if [[ "$COMMAND" == stop ]]; then
    targets=("$@")
    if ((${#targets[@]} == 0)); then
        for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do targets+=("${SERVICES[$i]}"); done
    fi
    stop_services "${targets[@]}"
    if (($# == 0)); then
        while read -r server; do
            [[ -n "$server" ]] && bash "$REPO/scripts/$server.sh" stop 9>&- || true
        done < <(cat "$STARTED_SERVERS" 2>/dev/null)
        while read -r server; do
            [[ -n "$server" ]] && say "$server left running: it ran before \`cluster.sh start\`" \
                "(scripts/$server.sh stop, or make stop, stops it)"
        done < <(cat "$ADOPTED_SERVERS" 2>/dev/null)
        rm -f "$STARTED_SERVERS" "$ADOPTED_SERVERS"
    fi
    exit 0
fi

# --- start: servers and settings -------------------------------------------------------------

remember() { # file server: note it once
    grep -qx "$2" "$1" 2>/dev/null || echo "$2" >>"$1"
}
# A server it starts is its own to stop; one it finds running (a test run's, another
# checkout's) it only uses, and says so when stopping.
remember_started() { remember "$STARTED_SERVERS" "$1"; }
remember_adopted() { grep -qx "$1" "$STARTED_SERVERS" 2>/dev/null || remember "$ADOPTED_SERVERS" "$1"; }

urls() { # command|query: every replica's URL, comma-separated
    local k list=""
    for ((k = 1; k <= REPLICAS; k++)); do
        local name="$1"
        ((k > 1)) && name="$1-$k"
        list+="${list:+,}http://$HOST:$(port_of "$name")"
    done
    echo "$list"
}

running=()
for service in "${SERVICES[@]}"; do
    pid_of "$service" >/dev/null && running+=("$service")
done
if ((${#running[@]})) && [[ -f "$ENV_FILE" ]]; then
    # Some services run (say, all but a relay that was killed): the ones started now get the
    # settings the others have, whatever this caller's environment says.
    say "${running[*]} running: starting the others with the settings in $ENV_FILE"
    PYTHON="$(setting CUSTOMERHUB_PYTHON)"
else
    if [[ -n "${CUSTOMERHUB_POSTGRES_DSN:-}" ]]; then
        dsn="$CUSTOMERHUB_POSTGRES_DSN"
    else
        if port_open "${CUSTOMERHUB_PG_PORT:-25432}"; then remember_adopted postgres; else remember_started postgres; fi
        server_dsn="$(bash "$REPO/scripts/postgres.sh" start 9>&- | tail -n 1)"
        dsn="${server_dsn%/*}/$DATABASE"
    fi
    if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
        kafka="$KAFKA_BOOTSTRAP_SERVERS"
    else
        if bash "$REPO/scripts/kafka.sh" status >/dev/null 2>&1; then
            remember_adopted kafka
        else
            remember_started kafka
        fi
        kafka="$(bash "$REPO/scripts/kafka.sh" start 9>&- | tail -n 1)"
    fi
    mongodb=""
    if [[ "$READ_STORE" == mongodb && -n "${MONGODB_URL:-}" ]]; then
        mongodb="$MONGODB_URL"
    elif [[ "$READ_STORE" == mongodb ]]; then
        if bash "$REPO/scripts/ferretdb.sh" status >/dev/null 2>&1; then
            remember_adopted ferretdb
        else
            remember_started ferretdb
        fi
        mongodb="$(bash "$REPO/scripts/ferretdb.sh" start 9>&- | tail -n 1)"
    fi
    s3="" s3_key_id="" s3_secret=""
    if [[ "$BLOB_STORE" == s3 && -n "${CUSTOMERHUB_S3_ENDPOINT:-}" ]]; then
        s3="$CUSTOMERHUB_S3_ENDPOINT"
        s3_key_id="${CUSTOMERHUB_S3_ACCESS_KEY_ID:?CUSTOMERHUB_S3_ENDPOINT needs CUSTOMERHUB_S3_ACCESS_KEY_ID}"
        s3_secret="${CUSTOMERHUB_S3_SECRET_ACCESS_KEY:?CUSTOMERHUB_S3_ENDPOINT needs CUSTOMERHUB_S3_SECRET_ACCESS_KEY}"
    elif [[ "$BLOB_STORE" == s3 ]]; then
        if bash "$REPO/scripts/seaweedfs.sh" status >/dev/null 2>&1; then
            remember_adopted seaweedfs
        else
            remember_started seaweedfs
        fi
        s3="$(bash "$REPO/scripts/seaweedfs.sh" start 9>&- | tail -n 1)"
        credentials="${CUSTOMERHUB_LOCAL_DIR:-$REPO/.local}/seaweedfs/credentials"
        s3_key_id="$(sed -n 's/^CUSTOMERHUB_S3_ACCESS_KEY_ID=//p' "$credentials")"
        s3_secret="$(sed -n 's/^CUSTOMERHUB_S3_SECRET_ACCESS_KEY=//p' "$credentials")"
    fi

    PYTHON="${CUSTOMERHUB_PYTHON:-}"
    if [[ -z "$PYTHON" ]]; then
        UV="$(command -v uv || echo "$HOME/.local/bin/uv")"
        PYTHON="$(cd "$REPO" && "$UV" run --frozen --quiet python -c 'import sys; print(sys.executable)')"
    fi

    if [[ -z "${CUSTOMERHUB_POSTGRES_DSN:-}" ]]; then
        # The cluster's own database on the local server, apart from the tests' ones.
        "$PYTHON" - "$server_dsn" "$DATABASE" <<'EOF'
import sys
import psycopg
from psycopg import sql

dsn, name = sys.argv[1:]
with psycopg.connect(dsn, autocommit=True) as db:
    if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
EOF
    fi

    secret="${CUSTOMERHUB_JWT_SECRET:-}"
    if [[ -z "$secret" ]]; then
        [[ -s "$CLUSTER_DIR/jwt-secret" ]] \
            || head -c 48 /dev/urandom | base64 | tr -d '\n=' >"$CLUSTER_DIR/jwt-secret"
        secret="$(cat "$CLUSTER_DIR/jwt-secret")"
    fi

    # The PostgreSQL keyring's key-encryption key: kept here, outside the database, so no raw
    # data key ever reaches PostgreSQL's files or its WAL.
    kek="${CUSTOMERHUB_KEYRING_KEK:-}"
    if [[ -z "$kek" ]]; then
        [[ -s "$CLUSTER_DIR/keyring-kek" ]] || (umask 077 \
            && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n=' >"$CLUSTER_DIR/keyring-kek")
        kek="$(cat "$CLUSTER_DIR/keyring-kek")"
    fi

    # The one source of every service's settings: the caller's CUSTOMERHUB_* (topics, batch
    # sizes, log level, …), then what the cluster mode fixes. It also says how to reach it.
    {
        echo "# Written by scripts/cluster.sh start; source it to use the cluster's settings."
        for name in $(compgen -e); do
            case "$name" in
                CUSTOMERHUB_*) printf '%s=%q\n' "$name" "${!name}" ;;
            esac
        done
        echo "CUSTOMERHUB_EVENT_STORE=postgres"
        printf 'CUSTOMERHUB_POSTGRES_DSN=%q\n' "$dsn"
        echo "CUSTOMERHUB_READ_STORE=$READ_STORE"
        if [[ "$READ_STORE" == mongodb ]]; then
            printf 'MONGODB_URL=%q\n' "$mongodb"
            printf 'CUSTOMERHUB_MONGODB_DATABASE=%q\n' "${CUSTOMERHUB_MONGODB_DATABASE:-$DATABASE}"
        fi
        printf 'KAFKA_BOOTSTRAP_SERVERS=%q\n' "$kafka"
        echo "CUSTOMERHUB_BLOB_STORE=$BLOB_STORE"
        if [[ "$BLOB_STORE" == s3 ]]; then
            printf 'CUSTOMERHUB_S3_ENDPOINT=%q\n' "$s3"
            printf 'CUSTOMERHUB_S3_ACCESS_KEY_ID=%q\n' "$s3_key_id"
            printf 'CUSTOMERHUB_S3_SECRET_ACCESS_KEY=%q\n' "$s3_secret"
        fi
        echo "CUSTOMERHUB_CONSUMER_TRANSPORT=kafka"
        printf 'CUSTOMERHUB_JWT_SECRET=%q\n' "$secret"
        printf 'CUSTOMERHUB_KEYRING_KEK=%q\n' "$kek"
        printf 'CUSTOMERHUB_DATA_DIR=%q\n' "$CLUSTER_DIR/var"
        printf 'CUSTOMERHUB_PYTHON=%q\n' "$PYTHON"
        echo "CUSTOMERHUB_CLUSTER_REPLICAS=$REPLICAS"
        # Several command replicas: the reconciler runs apart, exactly once.
        ((REPLICAS > 1)) && echo "CUSTOMERHUB_OWNERSHIP_RECONCILER=separate"
        echo "CUSTOMERHUB_CLUSTER_COMMAND_PORT=$COMMAND_PORT"
        echo "CUSTOMERHUB_CLUSTER_QUERY_PORT=$QUERY_PORT"
        echo "CUSTOMERHUB_CLUSTER_EQUIPMENT_PORT=$EQUIPMENT_PORT"
        echo "CUSTOMERHUB_CLUSTER_NOTIFICATIONS_PORT=$NOTIFICATIONS_PORT"
        echo "CUSTOMERHUB_CLUSTER_CONSOLE_PORT=$CONSOLE_PORT"
        # The console calls the services as any client does.
        echo "CUSTOMERHUB_CONSOLE_COMMAND_URL=http://$HOST:$COMMAND_PORT"
        echo "CUSTOMERHUB_CONSOLE_QUERY_URL=http://$HOST:$QUERY_PORT"
        echo "CUSTOMERHUB_CONSOLE_EQUIPMENT_URL=http://$HOST:$EQUIPMENT_PORT"
        echo "CUSTOMERHUB_CONSOLE_NOTIFICATIONS_URL=http://$HOST:$NOTIFICATIONS_PORT"
        echo "COMMAND_URL=http://$HOST:$COMMAND_PORT"
        echo "QUERY_URL=http://$HOST:$QUERY_PORT"
        echo "EQUIPMENT_URL=http://$HOST:$EQUIPMENT_PORT"
        echo "NOTIFICATIONS_URL=http://$HOST:$NOTIFICATIONS_PORT"
        echo "CONSOLE_URL=http://$HOST:$CONSOLE_PORT"
        echo "COMMAND_URLS=$(urls command)"
        echo "QUERY_URLS=$(urls query)"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
fi

# --- start: services -------------------------------------------------------------------------

healthy() { # port: GET /health answers 200 (plain bash, no curl needed)
    local status
    { exec 3<>"/dev/tcp/$HOST/$1"; } 2>/dev/null || return 1
    printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$HOST" >&3
    read -r -t 5 _ status _ <&3 || status=""
    exec 3<&- 3>&-
    [[ "$status" == 200 ]]
}

ready() { # the service serves: HTTP answers /health, a worker logged that it runs
    case "$1" in
        relay) grep -q 'relay.started' "$LOGS/relay.log" 2>/dev/null ;;
        projector) grep -q 'kafka_agent.assigned' "$LOGS/projector.log" 2>/dev/null ;;
        reconciler) grep -q 'reconciler.started' "$LOGS/reconciler.log" 2>/dev/null ;;
        *) healthy "$(port_of "$1")" ;;
    esac
}

launched=()
for service in "${SERVICES[@]}"; do
    if pid="$(pid_of "$service")"; then
        say "$service already runs (pid $pid)"
        continue
    fi
    port="$(port_of "$service")"
    if [[ -n "$port" ]] && port_open "$port"; then
        setting_name="CUSTOMERHUB_CLUSTER_$(echo "${service%%-*}" | tr a-z A-Z)_PORT"
        die "port $port ($service) is taken; set $setting_name"
    fi
    : >"$LOGS/$service.log" # a fresh log per start: readiness is read from it
    # shellcheck disable=SC2046 # the arguments are words on purpose
    (
        # Only cluster.env's settings: none of the caller's own may differ between services.
        for name in $(compgen -e); do
            case "$name" in
                CUSTOMERHUB_* | KAFKA_BOOTSTRAP_SERVERS | MONGODB_URL | KURRENTDB_URL) unset "$name" ;;
            esac
        done
        set -a
        # shellcheck disable=SC1090
        . "$ENV_FILE"
        set +a
        cd "$REPO"
        # setsid: a session of its own, so a Ctrl-C meant for the caller does not reach it.
        exec setsid "$PYTHON" $(service_args "$service") </dev/null >>"$LOGS/$service.log" 2>&1 9>&-
    ) &
    echo "$!" >"$CLUSTER_DIR/$service.pid"
    launched+=("$service")
    say "started $service (pid $!, log: $LOGS/$service.log)"
done

deadline=$((SECONDS + START_TIMEOUT))
for service in "${launched[@]}"; do
    until ready "$service"; do
        if ! pid_of "$service" >/dev/null; then
            tail -n 30 "$LOGS/$service.log" >&2 || true
            die "$service exited before it served (log above: $LOGS/$service.log)"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 30 "$LOGS/$service.log" >&2 || true
            die "$service did not serve within ${START_TIMEOUT}s (log: $LOGS/$service.log)"
        fi
        sleep 0.1
    done
    say "$service ready"
done

echo "COMMAND_URL=http://$HOST:$COMMAND_PORT"
echo "QUERY_URL=http://$HOST:$QUERY_PORT"
echo "EQUIPMENT_URL=http://$HOST:$EQUIPMENT_PORT"
echo "NOTIFICATIONS_URL=http://$HOST:$NOTIFICATIONS_PORT"
echo "CONSOLE_URL=http://$HOST:$CONSOLE_PORT"
echo "COMMAND_URLS=$(urls command)"
echo "QUERY_URLS=$(urls query)"
echo "ENV_FILE=$ENV_FILE"
