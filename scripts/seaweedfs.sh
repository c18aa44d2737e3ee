#!/usr/bin/env bash
# A throwaway S3-compatible server on 127.0.0.1 for the tests and the local cluster, no Docker:
# SeaweedFS (Apache-2.0) built from the Go module proxy, run as one `weed server -s3` process
# (master, volume server, filer and S3 gateway) with one access key.
#
#   scripts/seaweedfs.sh [start]  build the binary if needed, start the server if stopped;
#                                 the S3 endpoint is the last line on stdout (progress: stderr)
#   scripts/seaweedfs.sh stop     stop the server (its data stays for next time)
#   scripts/seaweedfs.sh status   exit 0 and print the endpoint if the server is up, else exit 1
#
# If CUSTOMERHUB_S3_ENDPOINT is set, that server is used and nothing is done.
# Settings: CUSTOMERHUB_SEAWEEDFS_PORT (28333, or the next free range of seven when unset and
# another program holds it: the S3 port; the master, volume server and filer
# take the next three ports, their gRPC ports the three after), CUSTOMERHUB_LOCAL_DIR (default
# $REPO/.local: the binary goes to its bin/, data, log, key file and pid file to its seaweedfs/).
# The access key the server accepts is written to seaweedfs/credentials (0600), as
# CUSTOMERHUB_S3_ACCESS_KEY_ID=… and CUSTOMERHUB_S3_SECRET_ACCESS_KEY=… lines to source.
# Needs Go >= 1.26 (PATH or /usr/local/go/bin); the first build downloads the modules into Go's
# usual caches (~/go/pkg/mod, ~/.cache/go-build) and takes several minutes on two cores.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="${CUSTOMERHUB_LOCAL_DIR:-$REPO/.local}"
PORT="${CUSTOMERHUB_SEAWEEDFS_PORT:-28333}"
PORT_ASKED="${CUSTOMERHUB_SEAWEEDFS_PORT:+yes}"
HOST=127.0.0.1
MODULE=github.com/seaweedfs/seaweedfs
VERSION=v0.0.0-20261109003541-7506e5f91cd6
# The module's hash as the Go checksum database has it: checked here, since the build machines
# reach the module proxy but not sum.golang.org.
MODULE_SUM="h1:LOYZFToHq9F7pSR6lkPGfkM8RmHlVFrzndKdhmNZjrU="
BIN="$LOCAL_DIR/bin/weed-$VERSION"
SW_DIR="$LOCAL_DIR/seaweedfs"
DATA="$SW_DIR/data"
LOGFILE="$SW_DIR/seaweedfs.log"
PIDFILE="$SW_DIR/seaweedfs.pid"
PORTFILE="$SW_DIR/seaweedfs.port"
CREDENTIALS="$SW_DIR/credentials"
S3_CONFIG="$SW_DIR/s3.json"
START_TIMEOUT=90 # seconds for the S3 port to answer once the process is started
COMMAND="${1:-start}"

say() { echo "seaweedfs.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
# shellcheck source=lib/servers.sh
source "$REPO/scripts/lib/servers.sh"

case "$COMMAND" in
    start | stop | status) ;;
    *) die "usage: $0 [start|stop|status]" ;;
esac

if [[ -n "${CUSTOMERHUB_S3_ENDPOINT:-}" ]]; then
    say "CUSTOMERHUB_S3_ENDPOINT is set; leaving SeaweedFS alone"
    [[ "$COMMAND" != stop ]] && echo "$CUSTOMERHUB_S3_ENDPOINT"
    exit 0
fi

endpoint() { echo "http://$HOST:$1"; }

s3_answers() { # port: the S3 gateway answers HTTP (an unsigned request gets 403: it is up)
    local status
    { exec 3<>"/dev/tcp/$HOST/$1"; } 2>/dev/null || return 1
    printf 'GET / HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$HOST" "$1" >&3
    read -r -t 5 _ status _ <&3 || status=""
    exec 3<&-
    [[ "$status" =~ ^[2-4][0-9][0-9]$ ]]
}

http_get() { # port path: the answer (status line, headers, body) to a GET on $HOST
    (
        exec 3<>"/dev/tcp/$HOST/$1" || exit 1
        printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$2" "$HOST" "$1" >&3
        timeout 5 cat <&3
    ) 2>/dev/null
}

master_ready() { # port: the master leads and a volume server has registered with it
    local answer
    answer="$(http_get "$1" /cluster/status)" || return 1
    [[ "$answer" == *'"IsLeader":true'* ]] || return 1
    answer="$(http_get "$1" /dir/status)" || return 1
    [[ "$answer" == *'"DataNodes":[{'* ]]
}

serving() { # s3 port: S3 answers and the master behind it can place objects
    s3_answers "$1" && master_ready $(($1 + 1))
}

our_pid() { # the pid from the pid file if that process is alive and is our binary
    local pid args
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$args" == *"weed-$VERSION server"* ]] || return 1
    echo "$pid"
}

running_port() { cat "$PORTFILE" 2>/dev/null || echo "$PORT"; }

# --- status / stop ----------------------------------------------------------------------------

if [[ "$COMMAND" == status ]]; then
    if pid="$(our_pid)" && serving "$(running_port)"; then
        say "running (pid $pid)"
        endpoint "$(running_port)"
        exit 0
    fi
    say "not running"
    exit 1
fi

if [[ "$COMMAND" == stop ]]; then
    take_lock "$SW_DIR"
    stop_server 30
    exit 0
fi

# --- start ------------------------------------------------------------------------------------

take_lock "$SW_DIR"

if pid="$(our_pid)"; then
    running="$(running_port)"
    if [[ "$running" != "$PORT" && -n "$PORT_ASKED" ]]; then
        die "SeaweedFS already runs on port $running (pid $pid), not $PORT; run '$0 stop' first"
    fi
    PORT="$running"
    if serving "$PORT"; then
        say "already running on $HOST:$PORT (pid $pid)"
        endpoint "$PORT"
        exit 0
    fi
    say "pid $pid is alive but S3 on port $PORT does not answer; restarting it"
    kill -TERM "$pid" 2>/dev/null || true
    sleep 2
    kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE" "$PORTFILE"

range_taken() { # s3 port: one of the seven ports from it is taken
    local port
    for port in $(seq "$1" $(($1 + 6))); do
        port_open "$port" && return 0
    done
    return 1
}

# Unless a port was asked for, another checkout's server on the default range moves this one on.
if [[ -z "$PORT_ASKED" ]]; then
    while range_taken "$PORT"; do
        PORT=$((PORT + 7))
        ((PORT < 28333 + 210)) || die "no seven free ports in 28333-28542"
    done
fi
range_taken "$PORT" && die "a port in $PORT-$((PORT + 6)) on $HOST is taken by another program;
    set CUSTOMERHUB_SEAWEEDFS_PORT to a free range, or CUSTOMERHUB_S3_ENDPOINT to use that server"
MASTER_PORT=$((PORT + 1)) VOLUME_PORT=$((PORT + 2)) FILER_PORT=$((PORT + 3))

find_go() {
    local candidate
    for candidate in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$HOME/go/bin/go" \
        "$HOME/sdk/go/bin/go"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [[ ! -x "$BIN" ]]; then
    GO="$(find_go)" || die "Go (>= 1.26) is needed to build SeaweedFS and none was found;
    install Go, or set CUSTOMERHUB_S3_ENDPOINT to an existing S3-compatible server"
    say "building $BIN with $("$GO" version) (the first build takes several minutes)"
    build_start=$SECONDS
    # GOSUMDB=off: the module's hash is checked against MODULE_SUM below instead; its
    # dependencies are checked against its own go.sum. `go install` refuses modules with
    # replace directives, so the binary is built inside the downloaded module.
    info="$(GOTOOLCHAIN=local GOSUMDB=off GOFLAGS=-mod=mod "$GO" mod download -json "$MODULE@$VERSION")" \
        || die "could not download $MODULE@$VERSION from the Go module proxy"
    sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p' <<<"$info")"
    [[ "$sum" == "$MODULE_SUM" ]] || die "$MODULE@$VERSION has hash $sum, expected $MODULE_SUM"
    src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$info")"
    mkdir -p "$(dirname "$BIN")"
    tmp="$BIN.tmp.$$"
    if ! (cd "$src" && GOTOOLCHAIN=local GOWORK=off GOSUMDB=off \
        GOFLAGS="-mod=mod -buildvcs=false" "$GO" build -trimpath -o "$tmp" ./weed >&2); then
        rm -f "$tmp"
        die "go build failed in $src"
    fi
    mv -f "$tmp" "$BIN"
    say "built in $((SECONDS - build_start))s"
fi

mkdir -p "$DATA"
chmod 700 "$SW_DIR" "$DATA"
if [[ ! -s "$CREDENTIALS" ]]; then
    (
        umask 077
        key_id="customerhub$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        secret="$(head -c 30 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n=')"
        printf 'CUSTOMERHUB_S3_ACCESS_KEY_ID=%s\nCUSTOMERHUB_S3_SECRET_ACCESS_KEY=%s\n' \
            "$key_id" "$secret" >"$CREDENTIALS"
    )
fi
key_id="$(sed -n 's/^CUSTOMERHUB_S3_ACCESS_KEY_ID=//p' "$CREDENTIALS")"
secret="$(sed -n 's/^CUSTOMERHUB_S3_SECRET_ACCESS_KEY=//p' "$CREDENTIALS")"
(
    umask 077
    cat >"$S3_CONFIG" <<EOF
{"identities": [{"name": "customerhub",
  "credentials": [{"accessKey": "$key_id", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF
)

if [[ -f "$LOGFILE" ]] && (($(wc -c <"$LOGFILE") > 20 * 1024 * 1024)); then
    mv -f "$LOGFILE" "$LOGFILE.1"
fi
say "starting on $HOST:$PORT (data: $DATA, log: $LOGFILE)"
# setsid: its own session, so a Ctrl-C meant for the caller does not reach it. 9>&-: the
# server must not inherit the lock. No telemetry, no Iceberg or Lance catalog ports; a short
# election timeout, since this one master elects itself on every start.
setsid "$BIN" server -ip="$HOST" -ip.bind="$HOST" -dir="$DATA" \
    -master.port="$MASTER_PORT" -master.port.grpc=$((PORT + 4)) -master.telemetry=false \
    -master.volumeSizeLimitMB=64 -master.electionTimeout=2s -volume.max=0 \
    -volume.port="$VOLUME_PORT" -volume.port.grpc=$((PORT + 5)) -volume.preStopSeconds=1 \
    -filer -filer.port="$FILER_PORT" -filer.port.grpc=$((PORT + 6)) \
    -s3 -s3.port="$PORT" -s3.config="$S3_CONFIG" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.iam=false -s3.localSocket="$SW_DIR/s3.sock" \
    </dev/null >>"$LOGFILE" 2>&1 9>&- &
pid=$!
echo "$pid" >"$PIDFILE"
echo "$PORT" >"$PORTFILE"

deadline=$((SECONDS + START_TIMEOUT))
until serving "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$LOGFILE" >&2 || true
        rm -f "$PIDFILE" "$PORTFILE"
        die "SeaweedFS exited before its S3 port $PORT answered (log above: $LOGFILE)"
    fi
    if ((SECONDS >= deadline)); then
        tail -n 20 "$LOGFILE" >&2 || true
        kill -TERM "$pid" 2>/dev/null || true
        rm -f "$PIDFILE" "$PORTFILE"
        die "SeaweedFS did not answer on port $PORT within ${START_TIMEOUT}s (log: $LOGFILE)"
    fi
    sleep 0.2
done
say "ready (pid $pid; access key in $CREDENTIALS)"
endpoint "$PORT"
