# shellcheck shell=bash
# What the scripts in tools/ share, written once. Source it right after
# `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#
# It sets $me (the script's name, for messages), $root (the repository),
# $tmp (a scratch directory) and one EXIT trap that kills every pid passed
# to kill_on_exit and removes $tmp, so that a script that fails half-way
# leaves no target running. Everything it starts listens on 127.0.0.1 only.
#
# Functions: die, kill_on_exit, need_blast, start_target, wait_port,
# free_port, self_signed_cert, start_nginx, machine.

me=$(basename "$0")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
    echo "$me: $*" >&2
    exit 1
}

# The cleanup trap, registered once: a script adds pids, never its own trap.
cleanup_pids=()
tmp=$(mktemp -d)
lib_cleanup() {
    local p
    for p in "${cleanup_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${cleanup_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap lib_cleanup EXIT
kill_on_exit() { cleanup_pids+=("$@"); }

# $BLAST, built in release from this checkout unless the caller set it; it
# is exported so that a script run from this one (scaling.sh runs
# compare.sh) uses the same binary rather than building again.
need_blast() {
    if [[ -z "${BLAST:-}" ]]; then
        (cd "$root" && cargo build --release --quiet)
        BLAST=$root/target/release/blast
    fi
    [[ -x "$BLAST" ]] || die "$BLAST is not executable"
    export BLAST
}

# The files a target writes; shown when it dies or never comes up.
target_logs=()
target_failed() {
    echo "$me: $*" >&2
    local f
    for f in "${target_logs[@]}"; do
        [[ -s $f ]] && cat "$f" >&2
    done
    exit 1
}

# start_target NAME [--cpus CPUS] [FLAG...]: runs `$BLAST target FLAG...`
# in the background (under `taskset -c CPUS` with --cpus; blast's own
# `--cpus` for its threads goes in FLAG), on `--listen 127.0.0.1:0` unless
# FLAG has a --listen, waits up to 10 s for its `listening on URL` line and
# sets the variable NAME to URL (http:// or https://, no trailing slash).
# If the target exits first or stays silent, prints its output and exits.
# Sets $target_pid.
start_target() {
    # The locals start with st_ so that no NAME a caller passes is shadowed.
    local st_name=$1 st_prefix=() st_listen=(--listen 127.0.0.1:0)
    shift
    if [[ ${1:-} == --cpus ]]; then
        st_prefix=(taskset -c "$2")
        shift 2
    fi
    [[ " $* " != *" --listen "* ]] || st_listen=()
    local st_out=$tmp/target.$st_name.out st_err=$tmp/target.$st_name.err
    target_logs+=("$st_out" "$st_err")
    # Made here, not by the background job's redirection, which may come
    # after the first look below.
    : >"$st_out"
    "${st_prefix[@]}" "$BLAST" target "${st_listen[@]}" "$@" >"$st_out" 2>"$st_err" &
    target_pid=$!
    kill_on_exit "$target_pid"
    local st_url='' st_deadline=$((SECONDS + 10))
    while :; do
        st_url=$(sed -n 's|^listening on \(https\{0,1\}://[^ ]*\).*|\1|p' "$st_out")
        [[ -z $st_url ]] || break
        kill -0 "$target_pid" 2>/dev/null || target_failed "blast target exited:"
        ((SECONDS < st_deadline)) || target_failed "blast target printed no address in 10 s:"
        sleep 0.05
    done
    printf -v "$st_name" '%s' "$st_url"
}

# wait_port PORT: waits up to 10 s until something accepts on
# 127.0.0.1:PORT, while $target_pid lives.
wait_port() {
    local deadline=$((SECONDS + 10))
    until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$1" 2>/dev/null; do
        kill -0 "$target_pid" 2>/dev/null || target_failed "target exited:"
        ((SECONDS < deadline)) || target_failed "target did not come up on port $1:"
        sleep 0.1
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# self_signed_cert: a P-256 certificate for localhost and 127.0.0.1, valid
# two days, in $tmp/cert.pem with its key in $tmp/key.pem.
self_signed_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
}

# start_nginx CPUS WORKERS HTTP SERVER PORT...: writes $tmp/nginx/nginx.conf
# (WORKERS worker processes, no access log, 1,000,000 requests per
# keep-alive connection, `return 200 "Hello, world!"` (13 B) on every path,
# all its files under $tmp/nginx) with the directives HTTP in its http block
# and SERVER (the listen lines, certificates) in its server block, starts
# nginx in the foreground under `taskset -c CPUS`, and waits until each PORT
# accepts. Sets $target_pid. Written for nginx 1.22's syntax.
start_nginx() {
    local cpus=$1 workers=$2 http=$3 server=$4 port
    shift 4
    command -v nginx >/dev/null || die "nginx not found"
    mkdir -p "$tmp/nginx/logs"
    cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes $workers;
worker_rlimit_nofile $(ulimit -n);
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events {
    worker_connections 20000;
}
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    $http
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        $server
        location / {
            default_type text/plain;
            return 200 "Hello, world!";
        }
    }
}
EOF
    target_logs+=("$tmp/nginx/target.out" "$tmp/nginx/target.err" "$tmp/nginx/logs/error.log")
    taskset -c "$cpus" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' \
        >"$tmp/nginx/target.out" 2>"$tmp/nginx/target.err" &
    target_pid=$!
    kill_on_exit "$target_pid"
    for port in "$@"; do wait_port "$port"; done
}

# One line on the machine, for the header of each table.
machine() {
    echo "$(nproc) CPUs, $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
}
