#!/usr/bin/env bash
# blast --grpc and h2load sending the same pre-framed gRPC message
# (test.Echo/Say {"text": "hi"}) to the Python grpcio server of tests/grpc
# (tests/grpc/echo_server.py, in the venv target/grpcio that .ci/run makes):
# server pinned to one CPU, client to another, one client thread. The
# server is the bottleneck (a few thousand calls/s), so what compares is
# the client's cost: calls per client CPU-second, each round's blast/h2load
# ratio, and their median. `blast target --grpc` is the speed peer of
# issue 21; this one checks that the gRPC path costs no more than h2load
# against a real gRPC server. See tools/README.md.
#
#   tools/grpc-python.sh
#   ROUNDS=7 CALLS=20000 STREAMS="1 10" tools/grpc-python.sh
#
# Env: CONNS CALLS ROUNDS STREAMS SERVER_CPU CLIENT_CPU BLAST H2LOAD
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-8}
CALLS=${CALLS:-10000}
ROUNDS=${ROUNDS:-5}
STREAMS=${STREAMS:-"1 10"}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
H2LOAD=${H2LOAD:-h2load}
py=$root/target/grpcio/bin/python

need_blast
command -v "$H2LOAD" >/dev/null || die "h2load not found"
"$py" -c 'import grpc, grpc_tools, grpc_reflection' 2>/dev/null ||
    die "no grpcio venv at target/grpcio (.ci/run makes it)"

cp "$root/tests/grpc/echo.proto" "$tmp/"
taskset -c "$SERVER_CPU" "$py" "$root/tests/grpc/echo_server.py" "$tmp" >"$tmp/port" 2>"$tmp/server.err" &
kill_on_exit $!
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(head -1 "$tmp/port")
[[ -n $port ]] || die "the server did not start: $(cat "$tmp/server.err")"
url=http://127.0.0.1:$port
# The framed message h2load sends: flag 0, length 4, field 1 = "hi".
printf '\x00\x00\x00\x00\x04\x0a\x02hi' >"$tmp/body.bin"

# calls and client CPU seconds of one run, as "CALLS CPU".
run_blast() { # streams
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$BLAST" -c "$CONNS" -t 1 -m "$1" -n "$CALLS" --json --grpc test.Echo/Say \
        --proto "$tmp/echo.proto" -b '{"text": "hi"}' "$url" 2>/dev/null >"$tmp/out"
    local ok
    ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_status"]["OK"])' "$tmp/out")
    echo "$ok $(awk '{print $1 + $2}' "$tmp/time")"
}

run_h2load() { # streams
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$H2LOAD" -c "$CONNS" -t 1 -m "$1" -n "$CALLS" -d "$tmp/body.bin" \
        -H 'content-type: application/grpc' -H 'te: trailers' "$url/test.Echo/Say" >"$tmp/out" 2>&1
    local ok
    ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$tmp/out")
    echo "${ok:-0} $(awk '{print $1 + $2}' "$tmp/time")"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

cat <<EOF
### blast --grpc vs h2load, same framed message, Python grpcio server

- machine: $(machine); load before: $(uptime | sed 's/.*load average: //')
- server: tests/grpc/echo_server.py (grpcio $("$py" -c 'import grpc; print(grpc.__version__)'), 32 threads), taskset -c $SERVER_CPU
- client: taskset -c $CLIENT_CPU, one thread, $CONNS connections, $CALLS calls per run, h2c; $ROUNDS rounds, order alternating; medians of same-round ratios
- script: CONNS=$CONNS CALLS=$CALLS ROUNDS=$ROUNDS STREAMS="$STREAMS" tools/grpc-python.sh
- $("$BLAST" --version 2>/dev/null || echo blast), $("$H2LOAD" --version 2>&1 | head -1)

| -m | blast calls per CPU-s | h2load calls per CPU-s | blast/h2load (median of rounds) |
|---|---:|---:|---:|
EOF
for m in $STREAMS; do
    : >"$tmp/r" && : >"$tmp/b" && : >"$tmp/h"
    for r in $(seq "$ROUNDS"); do
        if ((r % 2)); then
            b=$(run_blast "$m") h=$(run_h2load "$m")
        else
            h=$(run_h2load "$m") b=$(run_blast "$m")
        fi
        read -r bn bc <<<"$b"
        read -r hn hc <<<"$h"
        [[ $bn == "$CALLS" && $hn == "$CALLS" ]] || die "round $r -m $m: blast $bn OK, h2load $hn 2xx of $CALLS"
        bpc=$(python3 -c "print(round($bn / max($bc, 0.01)))")
        hpc=$(python3 -c "print(round($hn / max($hc, 0.01)))")
        echo "$bpc" >>"$tmp/b" && echo "$hpc" >>"$tmp/h"
        python3 -c "print($bpc / $hpc)" >>"$tmp/r"
        echo "  round $r -m $m: blast $bpc, h2load $hpc calls per CPU-s" >&2
    done
    printf '| %s | %s | %s | %.2fx |\n' "$m" "$(median <"$tmp/b")" "$(median <"$tmp/h")" "$(median <"$tmp/r")"
done
echo
echo "load after: $(uptime | sed 's/.*load average: //')"
