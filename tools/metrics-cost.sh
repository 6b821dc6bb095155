#!/usr/bin/env bash
# What the live metrics cost the hot path (issue 20, acceptance 4 and 5):
# requests per client CPU-second of one GET run, plain (base), with
# --metrics-listen and a scraper fetching /metrics every second (listen),
# with --prometheus-remote-write to a receiver that accepts connections and
# never answers (hang), and to a port that refuses (refuse). Interleaved
# rounds, order rotating; the table shows medians of each variant's ratio
# to the base of the same round, so a noisy box moves both sides.
#
#   tools/metrics-cost.sh
#   ROUNDS=7 DURATION=5 tools/metrics-cost.sh
#
# The whole blast process (workers, aggregator, listener, pusher) is pinned
# to CLIENT_CPU, so the listener's and the pusher's threads are counted in
# its CPU; the target and the scraper run on TARGET_CPU.
#
# Env: CONNS (64) DURATION (seconds, 5) ROUNDS (5) TARGET_CPU (1)
#      CLIENT_CPU (0) ENGINE (uring) VARIANTS BLAST
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-64}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
TARGET_CPU=${TARGET_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
ENGINE=${ENGINE:-uring}
VARIANTS=${VARIANTS:-base listen hang refuse}

need_blast
start_target url --cpus "$TARGET_CPU" --threads 1 --cpus "$TARGET_CPU"
url=$url/

# The receiver that hangs: listens, never accepts, never answers.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(86400)' >"$tmp/hang.port" &
kill_on_exit $!
for _ in $(seq 100); do [[ -s $tmp/hang.port ]] && break; sleep 0.05; done
hang_port=$(cat "$tmp/hang.port")
refuse_port=$(free_port)

# The flags of one variant ($2: the metrics port for listen).
variant_flags() {
    case $1 in
    base) echo "" ;;
    listen) echo "--metrics-listen 127.0.0.1:$2" ;;
    hang) echo "--prometheus-remote-write http://127.0.0.1:$hang_port/api/v1/write" ;;
    refuse) echo "--prometheus-remote-write http://127.0.0.1:$refuse_port/api/v1/write" ;;
    *) die "unknown variant $1" ;;
    esac
}

# One run: appends "variant round requests cpu_s".
run_one() {
    local v=$1 round=$2 port scraper='' req user sys
    port=$(free_port)
    if [[ $v == listen ]]; then
        taskset -c "$TARGET_CPU" bash -c "while :; do curl -s -o /dev/null http://127.0.0.1:$port/metrics; sleep 1; done" &
        scraper=$!
    fi
    # shellcheck disable=SC2046 # the flags, split into words on purpose
    taskset -c "$CLIENT_CPU" /usr/bin/time -f '%U %S' -o "$tmp/time" \
        "$BLAST" -c "$CONNS" -t 1 -d "${DURATION}s" --engine "$ENGINE" --json --quiet \
        $(variant_flags "$v" "$port") "$url" >"$tmp/out" 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; die "$v failed"; }
    [[ -z $scraper ]] || { kill "$scraper"; wait "$scraper" 2>/dev/null || true; }
    req=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"])' "$tmp/out")
    read -r user sys <"$tmp/time"
    echo "$v $round $req $(python3 -c "print($user + $sys)")" >>"$tmp/results"
    printf '  round %d %-7s %10d requests  cpu %5.2fs  %9.0f req/CPU-s\n' "$round" "$v" "$req" \
        "$(python3 -c "print($user + $sys)")" "$(python3 -c "print($req / max($user + $sys, 1e-9))")" >&2
}

echo "$me: $url, $ROUNDS rounds of ${DURATION}s, -c $CONNS, variants: $VARIANTS" >&2
: >"$tmp/results"
read -r -a variants <<<"$VARIANTS"
n=${#variants[@]}
for round in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do
        run_one "${variants[$(((i + round - 1) % n))]}" "$round"
    done
done

cat <<EOF

### Live metrics on the hot path: -c $CONNS, one client thread, $ENGINE

- machine: $(machine)
- load: $(uptime | sed 's/.*load average/load average/')
- target: blast target --threads 1 on CPU $TARGET_CPU, $url; blast on CPU $CLIENT_CPU (every thread of it)
- $ROUNDS rounds of ${DURATION}s, order rotating; medians; "vs base" is the median of each round's ratio to that round's base
- listen: \`--metrics-listen\` with \`curl\` fetching /metrics every second (on CPU $TARGET_CPU); hang: \`--prometheus-remote-write\` to a listener that never accepts; refuse: to a closed port
- script: ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS tools/metrics-cost.sh

EOF
python3 - "$tmp/results" "$DURATION" "${variants[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
duration = float(sys.argv[2])
variants = sys.argv[3:]
by = {(v, int(r)): (int(q), float(c)) for v, r, q, c in rows}
rounds = sorted({k[1] for k in by})
per = lambda q, c: q / max(c, 1e-9)
print("| variant | req/s | client CPU s | req per client CPU-s | vs base, same round |")
print("|---|---:|---:|---:|---:|")
for v in variants:
    rs = [by[(v, r)] for r in rounds if (v, r) in by]
    ratio = [per(*by[(v, r)]) / per(*by[("base", r)]) for r in rounds if (v, r) in by and ("base", r) in by]
    print(f"| {v} | {statistics.median(q for q, _ in rs) / duration:,.0f} | {statistics.median(c for _, c in rs):.2f} | "
          f"{statistics.median(per(q, c) for q, c in rs):,.0f} | {(statistics.median(ratio) - 1) * 100:+.1f}% |")
EOF
