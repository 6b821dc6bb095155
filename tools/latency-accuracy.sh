#!/usr/bin/env bash
# Latency accuracy (issue 19, acceptance 2): blast's p50/p99 with each
# engine, and wrk's, against a 10 ms target and a ~100 us one, closed loop,
# a few connections, one client thread pinned. Prints a Markdown table of
# medians over rounds with each engine's same-round difference to the base
# (unbatched) engine and to wrk, and whether it is within the goal (1% at
# 10 ms, 10 us at 100 us). See tools/README.md.
#
#   tools/latency-accuracy.sh
#   ENGINES="uring-unbatched uring tokio-uring epoll" tools/latency-accuracy.sh
#   ROUNDS=5 DURATION=5s CASES=100us tools/latency-accuracy.sh
#
# Env: ENGINES (uring-unbatched uring epoll: uring-unbatched is the ring
#      engine with BLAST_RING_BATCH=1) BASE (the first of ENGINES) CASES (10ms 100us) ROUNDS (3)
#      DURATION (3s) CONNS (4) SLOW (10ms) FAST_US (100) TARGET_CPU (1)
#      CLIENT_CPU (0) BLAST WRK CC
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ENGINES=${ENGINES:-uring-unbatched uring epoll}
BASE=${BASE:-${ENGINES%% *}}
CASES=${CASES:-10ms 100us}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3s}
CONNS=${CONNS:-4}
SLOW=${SLOW:-10ms}
FAST_US=${FAST_US:-100}
TARGET_CPU=${TARGET_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
WRK=${WRK:-wrk}
CC=${CC:-cc}

[[ " $ENGINES " == *" $BASE "* ]] || die "BASE=$BASE is not one of ENGINES ($ENGINES)"
for c in $CASES; do
    [[ $c == 10ms || $c == 100us ]] || die "CASES: $c is not 10ms or 100us"
done
need_blast
command -v "$WRK" >/dev/null || die "wrk not found"
command -v "$CC" >/dev/null || die "a C compiler ($CC) is needed for tools/sleep-target.c"
"$CC" -O2 -pthread -o "$tmp/sleep-target" "$root/tools/sleep-target.c" ||
    die "cannot compile tools/sleep-target.c"

# start_case CASE: starts that case's target on TARGET_CPU and sets $url.
start_case() {
    case $1 in
    10ms)
        start_target url --cpus "$TARGET_CPU" --threads 1 --cpus "$TARGET_CPU" --delay "$SLOW"
        url=$url/
        ;;
    100us)
        : >"$tmp/sleep.out"
        target_logs+=("$tmp/sleep.out" "$tmp/sleep.err")
        taskset -c "$TARGET_CPU" "$tmp/sleep-target" "$FAST_US" >"$tmp/sleep.out" 2>"$tmp/sleep.err" &
        target_pid=$!
        kill_on_exit "$target_pid"
        local deadline=$((SECONDS + 10))
        until url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1/|p' "$tmp/sleep.out") && [[ -n $url ]]; do
            kill -0 "$target_pid" 2>/dev/null || target_failed "sleep-target exited:"
            ((SECONDS < deadline)) || target_failed "sleep-target printed no address in 10 s:"
            sleep 0.05
        done
        ;;
    esac
}

describe_case() {
    case $1 in
    10ms) echo "\`blast target --threads 1 --delay $SLOW\` (tokio's timer: 1 ms resolution)" ;;
    100us) echo "tools/sleep-target.c, $FAST_US us after the read that completes each request (absolute clock_nanosleep, 1 ns timer slack)" ;;
    esac
}

client_cmd() {
    case $1 in
    wrk) echo "$WRK" -c "$CONNS" -t 1 -d "$DURATION" --latency "$url" ;;
    # The ring engine with its batch off: one completion per wait.
    uring-unbatched) echo env BLAST_RING_BATCH=1 "$BLAST" -c "$CONNS" -t 1 -d "$DURATION" --engine uring --json "$url" ;;
    *) echo "$BLAST" -c "$CONNS" -t 1 -d "$DURATION" --engine "$1" --json "$url" ;;
    esac
}

# "requests errors p50_us p99_us" from a client's output.
parse_out() {
    if [[ $1 == wrk ]]; then
        # wrk prints percentiles with two decimals in us, ms or s.
        python3 - "$2" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
unit = {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}
pct = {m[0]: float(m[1]) * unit[m[2]] for m in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)$", t, re.M)}
req = re.search(r"(\d+) requests in", t)
err = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
err += int(non2xx[1]) if non2xx else 0
if not req or "50" not in pct or "99" not in pct:
    sys.exit("no latency distribution in wrk's output")
print(req[1], err, pct["50"], pct["99"])
EOF
    else
        python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["requests"], sum(j["errors"].values()), j["latency_us"]["p50"], j["latency_us"]["p99"])' "$2"
    fi
}

clients=()
for e in $ENGINES; do clients+=("$e"); done
clients+=(wrk)
n=${#clients[@]}
: >"$tmp/results"
for c in $CASES; do
    start_case "$c"
    echo "latency-accuracy.sh: case $c, $url, $ROUNDS rounds of $DURATION, -c $CONNS, clients: ${clients[*]}" >&2
    echo "$c $(describe_case "$c")" >>"$tmp/cases"
    for round in $(seq "$ROUNDS"); do
        for i in $(seq 0 $((n - 1))); do
            cl=${clients[$(((i + round - 1) % n))]}
            # shellcheck disable=SC2046 # the client's command, split into words on purpose
            taskset -c "$CLIENT_CPU" $(client_cmd "$cl") >"$tmp/out" 2>"$tmp/err" ||
                { echo "$me: $cl failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
            read -r req err p50 p99 < <(parse_out "$cl" "$tmp/out") ||
                { echo "$me: cannot read $cl's output:" >&2; cat "$tmp/out" >&2; exit 1; }
            ((err == 0)) || { echo "$me: $cl had $err errors against $c:" >&2; cat "$tmp/out" >&2; exit 1; }
            echo "$c $round $cl $req $p50 $p99" >>"$tmp/results"
            printf '  %-5s round %d %-6s %7d requests  p50 %8.0f us  p99 %8.0f us\n' \
                "$c" "$round" "$cl" "$req" "$p50" "$p99" >&2
        done
    done
    kill "$target_pid" 2>/dev/null || true
    wait "$target_pid" 2>/dev/null || true
done

cat <<EOF

### Latency accuracy: blast's engines and wrk, closed loop, -c $CONNS, one client thread

- machine: $(machine); load before the table: $(uptime | sed 's/.*load average/load average/')
- targets on CPU $TARGET_CPU, clients on CPU $CLIENT_CPU (taskset); $ROUNDS rounds of $DURATION per case, order rotating each round; medians
EOF
while read -r c desc; do echo "- $c: $desc"; done <"$tmp/cases"
cat <<EOF
- blast: \`$(url=URL client_cmd "$BASE" | sed "s|$root/||")\` for each engine in ENGINES="$ENGINES"
- wrk: \`$(url=URL client_cmd wrk)\` ($("$WRK" -v 2>&1 | head -1 | awk '{ print $1, $2 }' || true)), its "Latency Distribution"
- Δ: the median over rounds of the same-round difference (engine minus base \`$BASE\`, engine minus wrk)
- script: ENGINES="$ENGINES" BASE=$BASE CASES="$CASES" ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS tools/latency-accuracy.sh

EOF
python3 - "$tmp/results" "$BASE" "${clients[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
base, clients = sys.argv[2], sys.argv[3:]
cases = list(dict.fromkeys(r[0] for r in rows))
val = {(r[0], r[1], r[2]): (float(r[4]), float(r[5])) for r in rows}
rounds = sorted({r[1] for r in rows})
def us(x):
    return f"{x:,.0f} us" if abs(x) >= 1000 else f"{x:.0f} us"
def delta(case, c, ref, k):
    d = [val[(case, r, c)][k] - val[(case, r, ref)][k] for r in rounds
         if (case, r, c) in val and (case, r, ref) in val]
    return statistics.median(d) if d else None
def show(case, d, ref_value):
    if d is None:
        return ""
    s = f"{d:+.0f} us"
    if case == "10ms":
        s += f" ({100 * d / ref_value:+.2f}%)"
    return s
def within(case, ds, refs):
    if case == "10ms":
        return all(abs(d) <= 0.01 * r for d, r in zip(ds, refs))
    return all(abs(d) <= 10 for d in ds)
print("| case | client | p50 | p99 | Δp50 to base | Δp99 to base | Δp50 to wrk | Δp99 to wrk | within goal |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
for case in cases:
    med = {}
    for c in clients:
        v = [val[(case, r, c)] for r in rounds if (case, r, c) in val]
        med[c] = (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
    for c in clients:
        p50, p99 = med[c]
        cells = [case, c if c == "wrk" else f"blast {c}", us(p50), us(p99)]
        ds, refs = [], []
        for ref in (base, "wrk"):
            if c == ref or (c == "wrk" and ref == base):
                cells += ["", ""]
                continue
            d50, d99 = delta(case, c, ref, 0), delta(case, c, ref, 1)
            cells += [show(case, d50, med[ref][0]), show(case, d99, med[ref][1])]
            ds += [d50, d99]
            refs += [med[ref][0], med[ref][1]]
        goal = "" if c in (base, "wrk") else ("yes" if within(case, ds, refs) else "no")
        cells.append(goal)
        print("| " + " | ".join(cells) + " |")
EOF
