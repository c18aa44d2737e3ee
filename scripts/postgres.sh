#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the tests and the local cluster mode, no Docker.
#
#   scripts/postgres.sh [start]   initdb if needed, start if stopped, create the database;
#                                 the DSN is the last line on stdout (progress goes to stderr)
#   scripts/postgres.sh stop      stop the cluster (its files stay for next time)
#
# If CUSTOMERHUB_POSTGRES_DSN is set, that server is used and nothing is done.
# Settings: CUSTOMERHUB_PG_DIR (default $REPO/.local/postgres), CUSTOMERHUB_PG_PORT (25432),
# CUSTOMERHUB_PG_BIN (a directory holding initdb and pg_ctl, to pick a specific install).
# The default ports of these scripts stay below Linux's ephemeral range (32768-60999): a
# client's leftover TIME_WAIT socket on a port there made a restart fail with "address in use".
# PostgreSQL will not run as root, so under root the cluster belongs to the `postgres` system user
# (created by the Debian package, or here if missing); otherwise to the calling user.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_DIR="${CUSTOMERHUB_PG_DIR:-$REPO/.local/postgres}"
PG_PORT="${CUSTOMERHUB_PG_PORT:-25432}"
DATA="$PG_DIR/data"
LOGFILE="$PG_DIR/postgres.log"
DB_NAME=customerhub
DB_USER=postgres # the cluster's superuser, whoever owns the files
COMMAND="${1:-start}"

say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

case "$COMMAND" in
    start | stop) ;;
    *) die "usage: $0 [start|stop]" ;;
esac

if [[ -n "${CUSTOMERHUB_POSTGRES_DSN:-}" ]]; then
    say "CUSTOMERHUB_POSTGRES_DSN is set; leaving PostgreSQL alone"
    [[ "$COMMAND" == start ]] && echo "$CUSTOMERHUB_POSTGRES_DSN"
    exit 0
fi

# --- find (or install) the server binaries --------------------------------------------------

find_bindir() {
    local dir candidate
    if [[ -n "${CUSTOMERHUB_PG_BIN:-}" ]]; then
        [[ -x "$CUSTOMERHUB_PG_BIN/initdb" && -x "$CUSTOMERHUB_PG_BIN/pg_ctl" ]] \
            || die "CUSTOMERHUB_PG_BIN=$CUSTOMERHUB_PG_BIN holds no initdb/pg_ctl"
        echo "$CUSTOMERHUB_PG_BIN"
        return 0
    fi
    # Debian/Ubuntu keep the server out of PATH: /usr/lib/postgresql/<major>/bin; newest wins.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            echo "$dir"
            return 0
        fi
    done
    # Other layouts (Homebrew, Fedora, a source build): whatever PATH offers.
    if candidate="$(command -v pg_ctl 2>/dev/null)"; then
        dir="$(dirname "$(readlink -f "$candidate")")"
        if [[ -x "$dir/initdb" && -x "$dir/postgres" ]]; then
            echo "$dir"
            return 0
        fi
    fi
    return 1
}

install_postgres() {
    command -v apt-get >/dev/null || die "no PostgreSQL server found and no apt-get to install one;
    install PostgreSQL (initdb, pg_ctl) or set CUSTOMERHUB_POSTGRES_DSN"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || die "PostgreSQL is not installed and we are not root"
        sudo=(sudo)
    fi
    say "installing PostgreSQL with apt-get (one-off)"
    # Debian's postinst would create and start a 'main' cluster on port 5432; we do not want it.
    "${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" \
        | "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/customerhub.conf >/dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        --no-install-recommends postgresql >&2
}

# --- run the server's tools as a non-root user ------------------------------------------------

if [[ "$(id -u)" == 0 ]]; then
    OWNER=postgres
else
    OWNER="$(id -un)"
fi

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        (cd / && runuser -u "$OWNER" -- "$@")
    else
        "$@"
    fi
}

ensure_owner() {
    [[ "$(id -u)" == 0 ]] || return 0
    if ! id -u "$OWNER" >/dev/null 2>&1; then
        say "creating system user $OWNER to own the cluster"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$OWNER"
    fi
}

is_running() {
    [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# Two runs at once must not both initdb, start or stop: the second waits for the first.
take_lock() {
    exec 9>>"$PG_DIR/.lock"
    flock 9
}

psql_admin() {
    "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres "$@"
}

# --- stop -------------------------------------------------------------------------------------

if [[ "$COMMAND" == stop ]]; then
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
        say "no cluster in $DATA"
        exit 0
    fi
    BIN="$(find_bindir)" || die "no pg_ctl found to stop the cluster with"
    take_lock
    if is_running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    else
        say "not running"
    fi
    exit 0
fi

# --- start ------------------------------------------------------------------------------------

if ! BIN="$(find_bindir)"; then
    install_postgres
    BIN="$(find_bindir)" || die "PostgreSQL was installed but initdb/pg_ctl are still missing"
fi
say "using $BIN"
ensure_owner

mkdir -p "$PG_DIR"
take_lock

if [[ "$(id -u)" == 0 ]]; then
    chown "$OWNER": "$PG_DIR"
    # The server reaches its files through every parent directory; say so plainly if it cannot.
    as_owner test -x "$PG_DIR" -a -w "$PG_DIR" \
        || die "user $OWNER cannot reach $PG_DIR (a parent directory is closed to it);
    set CUSTOMERHUB_PG_DIR to a place it can reach, e.g. /var/tmp/customerhub-postgres"
fi
chmod 0750 "$PG_DIR"

if [[ ! -f "$DATA/PG_VERSION" ]]; then
    say "initialising a cluster in $DATA"
    rm -rf "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U "$DB_USER" --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >&2 \
        || as_owner "$BIN/initdb" -D "$DATA" -U "$DB_USER" --auth=trust --encoding=UTF8 \
            --locale=C >&2
    # Throwaway cluster: loopback only, socket beside the data (unless that path is too long
    # for a Unix socket: then TCP only), cheap commits.
    socket_dir="$PG_DIR"
    (( ${#PG_DIR} + 20 < 107 )) || socket_dir=""
    cat <<EOF | as_owner tee -a "$DATA/postgresql.conf" >/dev/null

# --- customerhub (scripts/postgres.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$socket_dir'
max_connections = 200
synchronous_commit = off
logging_collector = off
EOF
fi

if is_running; then
    say "already running on 127.0.0.1:$PG_PORT"
else
    say "starting on 127.0.0.1:$PG_PORT (log: $LOGFILE)"
    # 9>&-: the server must not inherit the lock, or it would hold it for as long as it runs.
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -o "-p $PG_PORT" -w -t 60 start >&2 9>&- || {
        tail -n 20 "$LOGFILE" >&2 || true
        die "the server did not start (is port $PG_PORT taken?)"
    }
fi

for _ in $(seq 1 60); do
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres && break
    sleep 0.5
done
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres \
    || die "the server is not accepting connections"

if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
    say "creating database $DB_NAME"
    psql_admin -c "CREATE DATABASE $DB_NAME" >&2
fi

echo "postgresql://$DB_USER@127.0.0.1:$PG_PORT/$DB_NAME"
