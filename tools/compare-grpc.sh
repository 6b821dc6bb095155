#!/usr/bin/env bash
# gRPC unary calls, blast vs h2load, against `blast target --grpc` (the echo
# blast.Echo/Say) over h2c: target pinned to one CPU, the client to another,
# one client thread, both sending the same pre-framed message
# (EchoMessage{text: "hi"}, 9 bytes with gRPC's 5-byte prefix). Rounds
# interleave the two tools; the figure that compares is requests per client
# CPU-second, and the table gives the median of the rounds' blast/h2load
# ratios of it (issue 21, acceptance 5). See docs/performance.md, "gRPC".
#
#   tools/compare-grpc.sh                       # -m 1 and -m 10, 5 rounds of 5 s
#   STREAMS="10" ROUNDS=7 tools/compare-grpc.sh
#   BLAST_ARGS='--grpc blast.Echo/Say --grpc-reflect -b {"text":"hi"}' BLAST_PATH= \
#       tools/compare-grpc.sh                   # blast's own --grpc (once merged)
#
# BLAST_ARGS defaults to the stand-in that sends what --grpc sends: an
# HTTP/2 POST of the framed bytes (--body-file) with content-type
# application/grpc and te: trailers, to $BLAST_PATH (default /blast.Echo/Say).
#
# Env: CONNS DURATION_S ROUNDS STREAMS TARGET_CPU CLIENT_CPU BLAST H2LOAD
#      BLAST_ARGS BLAST_PATH ENGINES (blast's engines, each beside h2load in every
#      round; default "uring epoll")
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-64}
DURATION_S=${DURATION_S:-5}
ROUNDS=${ROUNDS:-5}
STREAMS=${STREAMS:-"1 10"}
ENGINES=${ENGINES:-"uring epoll"}
TARGET_CPU=${TARGET_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
H2LOAD=${H2LOAD:-h2load}
BLAST_PATH=${BLAST_PATH-/blast.Echo/Say}

need_blast
command -v "$H2LOAD" >/dev/null || die "h2load not found"
command -v /usr/bin/time >/dev/null || die "GNU time (/usr/bin/time) not found"

body=$tmp/hi.bin
printf '\000\000\000\000\004\012\002hi' >"$body"
BLAST_ARGS=${BLAST_ARGS:-"-X POST --body-file $body -H content-type:application/grpc -H te:trailers"}

url=
start_target url --cpus "$TARGET_CPU" --grpc --threads 1 --cpus "$TARGET_CPU"

# The target's CPU seconds so far (user + sys), from /proc.
target_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$target_pid/stat"; }

# Calls answered without error (HTTP 200 for the stand-in, gRPC OK for
# --grpc: both are the report's requests less its errors), client CPU seconds (user + sys) and the target's CPU
# seconds of one run: "CALLS CPU TARGET_CPU".
run_blast() { # streams engine
    local t0
    t0=$(target_cpu)
    # shellcheck disable=SC2086 # BLAST_ARGS: flags, split into words on purpose
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$BLAST" --http2 --engine "$2" -c "$CONNS" -t 1 -m "$1" -d "${DURATION_S}s" --json $BLAST_ARGS \
        "$url$BLAST_PATH" 2>"$tmp/err" >"$tmp/out" || die "blast failed: $(cat "$tmp/err")"
    local n
    n=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["requests"] - sum(j["errors"].values()))' "$tmp/out")
    echo "$n $(awk '{print $1 + $2}' "$tmp/time") $(awk -v a="$t0" -v b="$(target_cpu)" 'BEGIN {print b - a}')"
}

run_h2load() { # streams
    local t0
    t0=$(target_cpu)
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$H2LOAD" -c "$CONNS" -t 1 -m "$1" -D "$DURATION_S" -d "$body" \
        -H 'content-type: application/grpc' -H 'te: trailers' "$url/blast.Echo/Say" >"$tmp/out" 2>&1 ||
        die "h2load failed: $(tail -3 "$tmp/out")"
    local n
    n=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$tmp/out")
    echo "${n:-0} $(awk '{print $1 + $2}' "$tmp/time") $(awk -v a="$t0" -v b="$(target_cpu)" 'BEGIN {print b - a}')"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
per_cpu() { awk '{printf "%.0f\n", $1 / ($2 > 0.01 ? $2 : 0.01)}'; }
# The target's CPU per call, in microseconds.
target_us() { awk '{printf "%.1f\n", $3 * 1e6 / ($1 > 0 ? $1 : 1)}'; }

blast_ver=$("$BLAST" --version 2>/dev/null || echo blast)
h2load_ver=$("$H2LOAD" --version 2>&1 | head -1 || true)
cat <<EOF
### gRPC unary: blast vs h2load (blast target --grpc, h2c)

- machine: $(machine); load before: $(uptime | sed 's/.*load average: //')
- target: blast target --grpc --threads 1 --cpus $TARGET_CPU (taskset -c $TARGET_CPU), $url$BLAST_PATH
- client pinned: taskset -c $CLIENT_CPU, one thread, $CONNS connections; $ROUNDS rounds of ${DURATION_S}s, order rotating
- blast: --http2 --engine E -c $CONNS -t 1 -m N $BLAST_ARGS, E in: $ENGINES
- h2load: -c $CONNS -t 1 -m N -D $DURATION_S -d (the same 9 bytes) -H 'content-type: application/grpc' -H 'te: trailers'
- script: CONNS=$CONNS DURATION_S=$DURATION_S ROUNDS=$ROUNDS STREAMS="$STREAMS" ENGINES="$ENGINES" TARGET_CPU=$TARGET_CPU CLIENT_CPU=$CLIENT_CPU tools/compare-grpc.sh
- $blast_ver, $h2load_ver

EOF
echo "| -m | engine | blast calls/s | h2load calls/s | blast calls per CPU-s | h2load calls per CPU-s | blast/h2load per CPU-s (median of rounds) | rounds' ratios | target µs per call (blast, h2load) |"
echo "|---:|---|---:|---:|---:|---:|---:|---|---|"
for m in $STREAMS; do
    : >"$tmp/h"
    for e in $ENGINES; do : >"$tmp/b.$e" && : >"$tmp/r.$e"; done
    for r in $(seq "$ROUNDS"); do
        # Rotate the order so no client always runs on a warmer box.
        # shellcheck disable=SC2206 # ENGINES: a list, split into words on purpose
        order=("h2load" $ENGINES)
        k=$(((r - 1) % ${#order[@]}))
        order=("${order[@]:k}" "${order[@]:0:k}")
        for c in "${order[@]}"; do
            if [[ $c == h2load ]]; then
                run_h2load "$m" >>"$tmp/h"
            else
                run_blast "$m" "$c" >>"$tmp/b.$c"
            fi
        done
        h=$(tail -1 "$tmp/h" | per_cpu)
        line="  round $r -m $m: h2load $(tail -1 "$tmp/h") ($h/CPU-s)"
        for e in $ENGINES; do
            b=$(tail -1 "$tmp/b.$e" | per_cpu)
            python3 -c "print(f'{$b / max($h, 1):.3f}')" >>"$tmp/r.$e"
            line+=", blast $e $(tail -1 "$tmp/b.$e") ($b/CPU-s)"
        done
        echo "$line" >&2
    done
    hn=$(awk -v d="$DURATION_S" '{print $1 / d}' "$tmp/h" | median)
    hpc=$(per_cpu <"$tmp/h" | median)
    ht=$(target_us <"$tmp/h" | median)
    for e in $ENGINES; do
        bn=$(awk -v d="$DURATION_S" '{print $1 / d}' "$tmp/b.$e" | median)
        bpc=$(per_cpu <"$tmp/b.$e" | median)
        ratio=$(median <"$tmp/r.$e")
        bt=$(target_us <"$tmp/b.$e" | median)
        echo "| $m | $e | ${bn%.*} | ${hn%.*} | ${bpc%.*} | ${hpc%.*} | **${ratio}x** | $(paste -sd' ' "$tmp/r.$e") | $bt, $ht |"
    done
done
echo
echo "load after: $(uptime | sed 's/.*load average: //')"
