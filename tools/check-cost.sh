#!/usr/bin/env bash
# What checks cost per request: closed-loop requests per client CPU-second
# of the same GET with no check, with `--check 'status == 200'` and with
# `--check 'json /x exists'`, against nginx serving a 1 KiB JSON body (the
# same bytes for all three), on the same cores and flags. Rounds alternate
# the three; each ratio is the median of its rounds' ratios to that round's
# run without a check (runs a few seconds apart see the same machine).
#
#   tools/check-cost.sh
#
# Env: CONNS (64) DURATION (4s) ROUNDS (5) ENGINE (auto) TARGET_CPUS (1)
#      CLIENT_CPUS (0) BLAST
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
CONNS=${CONNS:-64}
DURATION=${DURATION:-4s}
ROUNDS=${ROUNDS:-5}
ENGINE=${ENGINE:-auto}
TARGET_CPUS=${TARGET_CPUS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
need_blast

# 1 KiB of JSON: {"x": [...], "pad": "..."}, exactly 1024 bytes.
body=$(python3 -c '
import json
d = {"x": [{"label": "cat", "score": 0.91}, {"label": "dog", "score": 0.07}], "pad": ""}
d["pad"] = "p" * (1024 - len(json.dumps(d, separators=(",", ":"))))
print(json.dumps(d, separators=(",", ":")), end="")')
PORT=$(free_port)
start_nginx "$TARGET_CPUS" 1 "" \
    "listen 127.0.0.1:$PORT backlog=4096;
    location = /x.json { default_type application/json; return 200 '$body'; }" "$PORT"
url=http://127.0.0.1:$PORT/x.json

one() { # $1 = none|status|json; prints "requests cpu_s"
    local check=()
    case $1 in
    status) check=(--check 'status == 200') ;;
    json) check=(--check 'json /x exists') ;;
    esac
    python3 - "$CLIENT_CPUS" "$BLAST" -c "$CONNS" -t 1 -d "$DURATION" --engine "$ENGINE" --json "${check[@]}" "$url" <<'PY'
import json, resource, subprocess, sys
cpus, cmd = sys.argv[1], sys.argv[2:]
out = json.loads(subprocess.run(["taskset", "-c", cpus] + cmd, check=True, capture_output=True).stdout)
assert sum(out["errors"].values()) == 0, out["errors"]
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(out["requests"], r.ru_utime + r.ru_stime)
PY
}

declare -a none=() status=() json=()
for i in $(seq "$ROUNDS"); do
    for kind in none status json; do
        read -r n cpu < <(one "$kind")
        v=$(python3 -c "print($n / $cpu)")
        echo "round $i $kind: $n requests, $cpu CPU-s, $v req/CPU-s" >&2
        case $kind in none) none+=("$v") ;; status) status+=("$v") ;; json) json+=("$v") ;; esac
    done
done
python3 - "${none[*]}" "${status[*]}" "${json[*]}" "$CONNS" "$DURATION" "$ROUNDS" <<'PY'
import statistics, sys
rows = [[float(x) for x in a.split()] for a in sys.argv[1:4]]
base = rows[0]
print(f"closed loop, -c {sys.argv[4]} -t 1 -d {sys.argv[5]}, nginx 1 KiB JSON, medians of {sys.argv[6]} interleaved rounds")
print("| check | req per client CPU-s (median) | ratio to no check (median of rounds) |")
print("|---|---:|---:|")
for name, r in zip(["none", "`status == 200`", "`json /x exists`"], rows):
    ratio = statistics.median(b / a for a, b in zip(base, r))
    print(f"| {name} | {statistics.median(r):,.0f} | {ratio:.3f} |")
PY
