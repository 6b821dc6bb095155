#!/usr/bin/env bash
# What a scenario costs per request: closed-loop requests per client
# CPU-second of one fixed request against a 10-request scenario whose
# requests take their path and JSON body from 10,000 CSV rows (100,000
# variants encoded before the run), on the same target, cores and flags.
# Rounds alternate single/scenario; the ratio is the median of each round's
# scenario/single ratio (pairs taken a few seconds apart see the same
# machine, where two separate medians can straddle a change in its load).
#
#   tools/scenario-cost.sh
#
# Env: CONNS (64) DURATION (5s) ROUNDS (5) ENGINE (auto) TARGET_CPUS (1)
#      CLIENT_CPUS (0) BLAST
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
CONNS=${CONNS:-64}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
ENGINE=${ENGINE:-auto}
TARGET_CPUS=${TARGET_CPUS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
need_blast

python3 "$root/tools/mix-fixture.py" "$tmp"

start_target url --threads 1 --cpus "$TARGET_CPUS"

one() { # $1 = single|scenario; prints "requests cpu_s"
    local extra=()
    if [[ $1 == scenario ]]; then
        extra=(--scenario "$tmp/scenario.toml" "$url")
    else
        extra=(-H "Content-Type: application/json" -b '{"user": 4242, "item": 694}' "$url/api/0?u=4242")
    fi
    python3 - "$CLIENT_CPUS" "$BLAST" -c "$CONNS" -t 1 -d "$DURATION" --engine "$ENGINE" --json "${extra[@]}" <<'PY'
import json, os, resource, subprocess, sys
cpus, cmd = sys.argv[1], sys.argv[2:]
out = subprocess.run(["taskset", "-c", cpus] + cmd, check=True, capture_output=True).stdout
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.loads(out)["requests"], r.ru_utime + r.ru_stime)
PY
}

declare -a single=() scenario=()
for i in $(seq "$ROUNDS"); do
    for kind in single scenario; do
        read -r n cpu < <(one "$kind")
        v=$(python3 -c "print($n / $cpu)")
        echo "round $i $kind: $n requests, $cpu CPU-s, $v req/CPU-s" >&2
        if [[ $kind == single ]]; then single+=("$v"); else scenario+=("$v"); fi
    done
done
python3 - "${single[*]}" "${scenario[*]}" "$CONNS" "$DURATION" "$ROUNDS" <<'PY'
import statistics, sys
s = [float(x) for x in sys.argv[1].split()]
m = [float(x) for x in sys.argv[2].split()]
ms, mm = statistics.median(s), statistics.median(m)
ratio = statistics.median(b / a for a, b in zip(s, m))
print(f"closed loop, -c {sys.argv[3]} -t 1 -d {sys.argv[4]}, medians of {sys.argv[5]} interleaved rounds")
print("| request | req per client CPU-s (median) | ratio (median of rounds) |")
print("|---|---:|---:|")
print(f"| one fixed POST | {ms:,.0f} | 1.00 |")
print(f"| scenario: 10 requests x 10k rows | {mm:,.0f} | {ratio:.2f} |")
PY
