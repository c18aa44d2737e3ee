# Sourced by kafka.sh, ferretdb.sh and seaweedfs.sh: what they share to lock, probe and stop the
# local server they manage. Each script defines say, our_pid, PIDFILE and PORTFILE first.

port_open() { # port: something accepts TCP connections on $HOST:port
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Two runs at once must not both fetch, build, start or stop: the second waits for the first.
take_lock() { # directory that holds the server's files
    mkdir -p "$1"
    exec 9>>"$1/.lock"
    flock 9
}

stop_server() { # seconds to wait after SIGTERM before SIGKILL
    local pid
    if pid="$(our_pid)"; then
        say "stopping pid $pid"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 $(($1 * 10))); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid ignored SIGTERM for $1s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        say "not running"
    fi
    rm -f "$PIDFILE" "$PORTFILE"
}
