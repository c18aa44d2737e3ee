#!/usr/bin/env bash
# A throwaway MongoDB-wire-protocol server on 127.0.0.1 for the tests, no Docker, no MongoDB:
# FerretDB v1.24 with its embedded SQLite backend, built from deploy/ferretdb (Go module proxy).
#
#   scripts/ferretdb.sh [start]   build the binary if needed, start the server if stopped;
#                                 the URL is the last line on stdout (progress goes to stderr)
#   scripts/ferretdb.sh stop      stop the server (its data stays for next time)
#   scripts/ferretdb.sh status    exit 0 and print the URL if the server is up, else exit 1
#
# If MONGODB_URL is set, that server is used and nothing is done.
# Settings: CUSTOMERHUB_FERRETDB_PORT (27018), CUSTOMERHUB_LOCAL_DIR (default $REPO/.local: the
# binary goes to its bin/, the data, log and pid file to its ferretdb/).
# Needs Go >= 1.24 (PATH or /usr/local/go/bin); the first build downloads the modules into Go's
# usual caches (~/go/pkg/mod, ~/.cache/go-build) and takes a minute or two; later starts do not
# build again unless deploy/ferretdb/{*.go,go.mod,go.sum} changed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="${CUSTOMERHUB_LOCAL_DIR:-$REPO/.local}"
PORT="${CUSTOMERHUB_FERRETDB_PORT:-27018}"
HOST=127.0.0.1
SRC="$REPO/deploy/ferretdb"
BIN="$LOCAL_DIR/bin/ferretdb-customerhub"
FDB_DIR="$LOCAL_DIR/ferretdb"
DATA="$FDB_DIR/data"
LOGFILE="$FDB_DIR/ferretdb.log"
PIDFILE="$FDB_DIR/ferretdb.pid"
PORTFILE="$FDB_DIR/ferretdb.port"
START_TIMEOUT=60 # seconds for the port to open once the process is started
# How often the server truncates its SQLite WALs: a replaced or deleted document leaves its
# files within about twice this (deploy/ferretdb/README.md).
WAL_TRUNCATE_INTERVAL=1s
COMMAND="${1:-start}"

say() { echo "ferretdb.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
# shellcheck source=lib/servers.sh
source "$REPO/scripts/lib/servers.sh"

case "$COMMAND" in
    start | stop | status) ;;
    *) die "usage: $0 [start|stop|status]" ;;
esac

if [[ -n "${MONGODB_URL:-}" ]]; then
    say "MONGODB_URL is set; leaving FerretDB alone"
    [[ "$COMMAND" != stop ]] && echo "$MONGODB_URL"
    exit 0
fi

url() { echo "mongodb://$HOST:$1/"; }

our_pid() { # prints the pid from the pid file if that process is alive and is our binary
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: the process must be ours.
    if command -v ps >/dev/null; then
        local args
        args="$(ps -p "$pid" -o args= 2>/dev/null)" || return 1
        [[ "$args" == *ferretdb-customerhub* ]] || return 1
    fi
    echo "$pid"
}

running_port() { # the port the live server was started on
    cat "$PORTFILE" 2>/dev/null || echo "$PORT"
}

# --- status / stop ----------------------------------------------------------------------------

if [[ "$COMMAND" == status ]]; then
    if pid="$(our_pid)" && port_open "$(running_port)"; then
        say "running (pid $pid)"
        url "$(running_port)"
        exit 0
    fi
    say "not running"
    exit 1
fi

if [[ "$COMMAND" == stop ]]; then
    take_lock "$FDB_DIR"
    stop_server 10
    exit 0
fi

# --- start ------------------------------------------------------------------------------------

take_lock "$FDB_DIR"

if pid="$(our_pid)"; then
    running="$(running_port)"
    if [[ "$running" != "$PORT" ]]; then
        die "FerretDB already runs on port $running (pid $pid), not $PORT; run '$0 stop' first"
    fi
    if port_open "$PORT"; then
        say "already running on $HOST:$PORT (pid $pid)"
        url "$PORT"
        exit 0
    fi
    # Alive but not listening (starts hold the lock until the port opens): wedged. Restart it.
    say "pid $pid is alive but port $PORT is closed; restarting it"
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE" "$PORTFILE"

if port_open "$PORT"; then
    die "port $PORT on $HOST is taken by another program; set CUSTOMERHUB_FERRETDB_PORT to a free
    port, or MONGODB_URL to use that server"
fi

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

needs_build() {
    [[ -x "$BIN" ]] || return 0
    local f
    for f in "$SRC"/*.go "$SRC/go.mod" "$SRC/go.sum"; do
        [[ "$f" -nt "$BIN" ]] && return 0
    done
    return 1
}

if needs_build; then
    GO="$(find_go)" || die "Go (>= 1.24) is needed to build FerretDB and none was found;
    install Go, or set MONGODB_URL to an existing MongoDB-compatible server"
    say "building $BIN with $("$GO" version) (the first build downloads modules: a minute or two)"
    mkdir -p "$(dirname "$BIN")"
    tmp="$BIN.tmp.$$"
    build_start=$SECONDS
    # GOTOOLCHAIN=local: never download a toolchain. -mod=readonly: go.mod/go.sum are the truth.
    # ferretdb_no_postgresql: only the SQLite backend is used; skip compiling the other one.
    if ! (cd "$SRC" && GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" \
        "$GO" build -trimpath -tags ferretdb_no_postgresql -o "$tmp" . >&2); then
        rm -f "$tmp"
        die "go build failed in $SRC"
    fi
    mv -f "$tmp" "$BIN"
    say "built in $((SECONDS - build_start))s"
fi

mkdir -p "$DATA"
# Keep the log from growing without end (FerretDB logs every connection): one old copy is kept.
if [[ -f "$LOGFILE" ]] && (($(wc -c <"$LOGFILE") > 20 * 1024 * 1024)); then
    mv -f "$LOGFILE" "$LOGFILE.1"
fi
say "starting on $HOST:$PORT (data: $DATA, log: $LOGFILE)"
# setsid: its own session, so a Ctrl-C meant for the caller does not reach it.
# 9>&-: the server must not inherit the lock, or it would hold it for as long as it runs.
# Its output goes to the log file only, so callers that capture our stdout do not wait on it.
setsid "$BIN" -listen "$HOST:$PORT" -data "$DATA" -wal-truncate-interval "$WAL_TRUNCATE_INTERVAL" </dev/null >>"$LOGFILE" 2>&1 9>&- &
pid=$!
echo "$pid" >"$PIDFILE"
echo "$PORT" >"$PORTFILE"

deadline=$((SECONDS + START_TIMEOUT))
until port_open "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$LOGFILE" >&2 || true
        rm -f "$PIDFILE" "$PORTFILE"
        die "FerretDB exited before it opened port $PORT (log above: $LOGFILE)"
    fi
    if ((SECONDS >= deadline)); then
        tail -n 20 "$LOGFILE" >&2 || true
        kill -TERM "$pid" 2>/dev/null || true
        rm -f "$PIDFILE" "$PORTFILE"
        die "FerretDB did not open port $PORT within ${START_TIMEOUT}s (log: $LOGFILE)"
    fi
    sleep 0.1
done
say "ready (pid $pid)"
url "$PORT"
