#!/usr/bin/env bash
# What the open-loop schedule costs: blast's client CPU per request at -R
# equal to half of wrk's closed-loop maximum, against its own closed-loop
# figure, on the same target and cores. Rounds are interleaved; medians.
#
#   tools/rate-cost.sh                 # ROUNDS=5 DURATION=4s CONNS=64 ENGINE=auto
#   ENGINE=epoll tools/rate-cost.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4s}
CONNS=${CONNS:-64}
ENGINE=${ENGINE:-auto}
TARGET_CPUS=${TARGET_CPUS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
need_blast
command -v wrk >/dev/null || die "wrk not found"

start_target url --cpus "$TARGET_CPUS" --threads 1

# wrk's closed-loop maximum on this target (median of 3).
# shellcheck disable=SC2154 # url is set by start_target (lib.sh)
for _ in 1 2 3; do
    taskset -c "$CLIENT_CPUS" wrk -c "$CONNS" -t 1 -d "$DURATION" "$url" | sed -n 's/^Requests\/sec: *//p'
done | sort -n | sed -n 2p > "$tmp/wrk_max"
wrk_max=$(cat "$tmp/wrk_max")
rate=$(python3 -c "print(int(float('$wrk_max') / 2))")

# One blast run; prints "rps cpu_us_per_request".
blast_run() {
    taskset -c "$CLIENT_CPUS" /usr/bin/time -f '%U %S' -o "$tmp/time" \
        "$BLAST" -c "$CONNS" -t 1 -d "$DURATION" --engine "$ENGINE" --json "$@" "$url" > "$tmp/out.json"
    python3 - "$tmp/out.json" "$tmp/time" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
u, s = map(float, open(sys.argv[2]).read().split()[-2:])
print(f"{j['rps']:.0f} {(u + s) / max(j['requests'], 1) * 1e6:.3f}")
PY
}
: > "$tmp/closed"; : > "$tmp/rate"
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then
        blast_run >> "$tmp/closed"; blast_run -R "$rate" >> "$tmp/rate"
    else
        blast_run -R "$rate" >> "$tmp/rate"; blast_run >> "$tmp/closed"
    fi
done
python3 - "$tmp/closed" "$tmp/rate" "$wrk_max" "$rate" "$ROUNDS" "$DURATION" "$CONNS" "$ENGINE" <<'PY'
import statistics, sys
closed = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
paced = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
wrk_max, rate, rounds, dur, conns, engine = sys.argv[3:9]
med = lambda xs, i: statistics.median(x[i] for x in xs)
c, p = med(closed, 1), med(paced, 1)
print(f"wrk closed-loop max {float(wrk_max):,.0f} req/s; blast -R {int(rate):,} (half of it); "
      f"{rounds} rounds of {dur}, -c {conns} -t 1, engine {engine}, medians")
print()
print("| blast | req/s | client CPU us per request |")
print("|---|---:|---:|")
print(f"| closed loop | {med(closed, 0):,.0f} | {c:.3f} |")
print(f"| -R {int(rate):,} | {med(paced, 0):,.0f} | {p:.3f} |")
print(f"| ratio (paced / closed) | | {p / c:.2f}x |")
PY
