#!/usr/bin/env bash
# blast --http2 and h2load side by side against `blast target --http2` on
# loopback: target pinned to one CPU, the client to another, one client
# thread. Prints req/s and client CPU seconds per round, then the medians
# and blast/h2load as a Markdown table. See tools/README.md.
#
#   tools/compare-h2.sh                  # h2c -m 1, h2c -m 10, TLS -m 1
#   CASES="h2c:100" tools/compare-h2.sh  # scheme:streams pairs
#
# Env: CONNS DURATION_S ROUNDS CASES TARGET_CPU CLIENT_CPU BLAST H2LOAD
set -euo pipefail

CONNS=${CONNS:-64}
DURATION_S=${DURATION_S:-5}
ROUNDS=${ROUNDS:-2}
CASES=${CASES:-"h2c:1 h2c:10 tls:1"}
TARGET_CPU=${TARGET_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
H2LOAD=${H2LOAD:-h2load}

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${BLAST:-}" ]]; then
    (cd "$root" && cargo build --release --quiet)
    BLAST=$root/target/release/blast
fi
command -v "$H2LOAD" >/dev/null || { echo "compare-h2.sh: h2load not found" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# Start a target (not in a subshell, so its pid is kept for the cleanup);
# its URL goes to the variable named by $1. $2: extra flags.
start_target() {
    local out=$tmp/target.$1
    taskset -c "$TARGET_CPU" "$BLAST" target --listen 127.0.0.1:0 --http2 --cpus "$TARGET_CPU" $2 >"$out" 2>/dev/null &
    pids+=($!)
    for _ in $(seq 100); do
        [[ -s $out ]] && break
        sleep 0.05
    done
    printf -v "$1" '%s' "$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$out")"
}

# req/s and client CPU seconds of one run, as "RPS CPU".
run_blast() { # url streams extra
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$BLAST" --http2 -c "$CONNS" -t 1 -m "$2" -d "${DURATION_S}s" --json $3 "$1" 2>/dev/null >"$tmp/out"
    local rps
    rps=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["rps"]))' "$tmp/out")
    echo "$rps $(awk '{print $1 + $2}' "$tmp/time")"
}

run_h2load() { # url streams
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$H2LOAD" -c "$CONNS" -t 1 -m "$2" -D "$DURATION_S" "$1" >"$tmp/out" 2>&1
    local rps
    rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$tmp/out")
    echo "${rps%.*} $(awk '{print $1 + $2}' "$tmp/time")"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

start_target plain ""
cert=$tmp/cert.pem
start_target tls "--tls --cert-out $cert"
tls=${tls/127.0.0.1/localhost}

echo "| case | blast req/s | h2load req/s | blast/h2load | blast CPU s | h2load CPU s | blast req per CPU-s | h2load req per CPU-s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for c in $CASES; do
    scheme=${c%%:*}
    m=${c##*:}
    if [[ $scheme == tls ]]; then url=$tls extra="--cacert $cert"; else url=$plain extra=""; fi
    : >"$tmp/b" && : >"$tmp/h"
    for r in $(seq "$ROUNDS"); do
        # Alternate the order so neither tool always runs on a warmer box.
        if ((r % 2)); then
            run_blast "$url" "$m" "$extra" >>"$tmp/b"
            run_h2load "$url" "$m" >>"$tmp/h"
        else
            run_h2load "$url" "$m" >>"$tmp/h"
            run_blast "$url" "$m" "$extra" >>"$tmp/b"
        fi
        echo "  round $r $c: blast $(tail -1 "$tmp/b"), h2load $(tail -1 "$tmp/h")" >&2
    done
    b=$(cut -d' ' -f1 "$tmp/b" | median)
    h=$(cut -d' ' -f1 "$tmp/h" | median)
    bc=$(cut -d' ' -f2 "$tmp/b" | median)
    hc=$(cut -d' ' -f2 "$tmp/h" | median)
    ratio=$(python3 -c "print(f'{$b / max($h, 1):.2f}x')")
    bpc=$(python3 -c "print(round($b * $DURATION_S / max($bc, 0.01)))")
    hpc=$(python3 -c "print(round($h * $DURATION_S / max($hc, 0.01)))")
    echo "| $scheme -m $m | $b | $h | $ratio | $bc | $hc | $bpc | $hpc |"
done
