#!/usr/bin/env bash
# HTTP/1.1 pipelining as TechEmpower's plaintext test runs it: -c 256, 16
# requests per write, one client thread. blast (--pipeline 16, each engine),
# wrk with tools/pipeline.lua (TechEmpower's script) and h2load --h1 -m 16,
# side by side against nginx and `blast target`, in interleaved rounds.
# Prints a Markdown table per target: medians of req/s, client CPU s and
# requests per client CPU-second, the medians of same-round ratios of that
# figure (blast to wrk, blast to h2load), and what the target itself
# counted against what the client counted (blast target: GET /__blast/stats;
# nginx: stub_status).
#
#   tools/pipeline.sh
#   TARGETS=nginx ROUNDS=3 DURATION=3 tools/pipeline.sh
#
# Env: CONNS (256) DEPTH (16) DURATION (seconds, 4) ROUNDS (5) TARGETS
#      ("blast nginx") CLIENTS ("blast-uring blast-epoll wrk h2load")
#      TARGET_CPU (1) CLIENT_CPU (0) BLAST WRK H2LOAD
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-256}
DEPTH=${DEPTH:-16}
DURATION=${DURATION:-4}
ROUNDS=${ROUNDS:-5}
TARGETS=${TARGETS:-blast nginx}
CLIENTS=${CLIENTS:-blast-uring blast-epoll wrk h2load}
TARGET_CPU=${TARGET_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
WRK=${WRK:-wrk}
H2LOAD=${H2LOAD:-h2load}
lua=$root/tools/pipeline.lua

need_blast
for c in $CLIENTS; do
    case $c in
    wrk) command -v "$WRK" >/dev/null || die "wrk not found" ;;
    h2load) command -v "$H2LOAD" >/dev/null || die "h2load not found (nghttp2-client)" ;;
    blast-uring | blast-epoll) ;;
    *) echo "pipeline.sh: unknown client $c" >&2; exit 2 ;;
    esac
done
want_fds=$((CONNS * 2 + 1024))
if (($(ulimit -n) < want_fds)); then ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; fi

# Both targets up for the whole run, each pinned to TARGET_CPU (one runs
# at a time, the other idles).
declare -A url desc stats
for t in $TARGETS; do
    case $t in
    blast)
        start_target u --cpus "$TARGET_CPU" --threads 1 --cpus "$TARGET_CPU"
        url[blast]=$u/
        stats[blast]=$u/__blast/stats
        desc[blast]="blast target --threads 1 --cpus $TARGET_CPU"
        ;;
    nginx)
        port=$(free_port)
        start_nginx "$TARGET_CPU" 1 "" "listen 127.0.0.1:$port backlog=4096;
        location = /nginx_status { stub_status; }" "$port"
        url[nginx]=http://127.0.0.1:$port/
        stats[nginx]=http://127.0.0.1:$port/nginx_status
        desc[nginx]="nginx $(nginx -v 2>&1 | sed 's|.*/||'), worker_processes 1, return 200 (13 B), keepalive_requests 1000000"
        ;;
    *) echo "pipeline.sh: TARGETS are blast and nginx" >&2; exit 2 ;;
    esac
done

# Requests the target has answered so far (stub_status counts its own
# request too: run_one takes the later reading's off the difference).
target_count() {
    python3 - "$1" <<'EOF'
import json, re, sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
if body.lstrip().startswith("{"):
    print(json.loads(body)["requests"])
else:
    print(int(re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s*$", body, re.M).group(3)))
EOF
}

# The command of one client against target $2.
client_cmd() {
    local u=${url[$2]}
    case $1 in
    blast-uring) echo "$BLAST" -c "$CONNS" -t 1 -d "${DURATION}s" --pipeline "$DEPTH" --engine uring --json "$u" ;;
    blast-epoll) echo "$BLAST" -c "$CONNS" -t 1 -d "${DURATION}s" --pipeline "$DEPTH" --engine epoll --json "$u" ;;
    wrk) echo "$WRK" -c "$CONNS" -t 1 -d "${DURATION}s" -s "$lua" "$u" -- "$DEPTH" ;;
    h2load) echo "$H2LOAD" --h1 -c "$CONNS" -t 1 -m "$DEPTH" -D "$DURATION" "$u" ;;
    esac
}

# "answered errors in_flight" from a client's output.
parse_out() {
    case $1 in
    blast-*) python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["requests"], sum(j["errors"].values()) + j.get("non_2xx", 0), j.get("in_flight_at_end", 0))' "$2" ;;
    wrk) awk '/ requests in / { r = $1 } /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
              /Non-2xx or 3xx/ { e += $NF } END { print r, e + 0, "-" }' "$2" ;;
    h2load) awk '/^requests:/ { r = $8; e += $10 + $12 + $14 } /^status codes:/ { e += $7 + $9 } END { print r, e, "-" }' "$2" ;;
    esac
}

# One timed run: appends "target client round answered cpu_s errors counted in_flight".
run_one() {
    local t=$1 c=$2 round=$3 before after req err inflight
    before=$(target_count "${stats[$t]}")
    # shellcheck disable=SC2046 # the client's command, split into words on purpose
    taskset -c "$CLIENT_CPU" /usr/bin/time -f '%U %S' -o "$tmp/time" $(client_cmd "$c" "$t") \
        >"$tmp/out" 2>"$tmp/err" || { echo "pipeline.sh: $c failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
    sleep 0.2
    after=$(target_count "${stats[$t]}")
    if [[ $t == nginx ]]; then after=$((after - 1)); fi
    read -r req err inflight < <(parse_out "$c" "$tmp/out")
    [[ -n "$req" ]] || { echo "pipeline.sh: no request count from $c" >&2; cat "$tmp/out" >&2; exit 1; }
    read -r user sys <"$tmp/time"
    local cpu
    cpu=$(python3 -c "print($user + $sys)")
    echo "$t $c $round $req $cpu $err $((after - before)) $inflight" >>"$tmp/results"
    printf '  %-5s round %d %-12s %9d answered  cpu %5.2fs  %9.0f req/CPU-s  errors %s  target counted %d (in flight %s)\n' \
        "$t" "$round" "$c" "$req" "$cpu" "$(python3 -c "print($req / max($cpu, 1e-9))")" "$err" \
        $((after - before)) "$inflight" >&2
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "pipeline.sh: targets $TARGETS, $ROUNDS rounds of ${DURATION}s, -c $CONNS, depth $DEPTH, clients: $CLIENTS" >&2
: >"$tmp/results"
read -r -a clients <<<"$CLIENTS"
n=${#clients[@]}
for round in $(seq "$ROUNDS"); do
    for t in $TARGETS; do
        # Rotate the order each round so no client always runs first or last.
        for i in $(seq 0 $((n - 1))); do
            run_one "$t" "${clients[$(((i + round - 1) % n))]}" "$round"
        done
    done
done

for t in $TARGETS; do
    cat <<EOF

### Pipelining, $t target: -c $CONNS, $DEPTH requests per write, one client thread

- machine: $(machine); load average (1, 5, 15 min) before the run: $load_before, after it: $(cut -d' ' -f1-3 /proc/loadavg)
- target: ${desc[$t]} on CPU $TARGET_CPU, ${url[$t]}; clients on CPU $CLIENT_CPU (taskset)
- $ROUNDS rounds of ${DURATION}s, targets and clients interleaved, order rotating each round; medians; client CPU is user+sys from /usr/bin/time
- script: TARGETS=$t CONNS=$CONNS DEPTH=$DEPTH DURATION=$DURATION ROUNDS=$ROUNDS tools/pipeline.sh
- blast: \`$(client_cmd blast-uring "$t" | sed "s|$root/||")\` (and \`--engine epoll\`)
- wrk: \`$(client_cmd wrk "$t" | sed "s|$root/||")\` ($("$WRK" -v 2>&1 | head -1 | awk '{ print $1, $2 }' || true)); h2load: \`$(client_cmd h2load "$t")\` ($("$H2LOAD" --version 2>&1 | head -1))
- target counted: the target's own count over the run against the client's answered requests (blast: + its requests in flight at the end)

EOF
    python3 - "$tmp/results" "$t" "$DURATION" "${clients[@]}" <<'EOF'
import statistics, sys
t, dur = sys.argv[2], float(sys.argv[3])
clients = sys.argv[4:]
rows = [l.split() for l in open(sys.argv[1]) if l.split()[0] == t]
per = {(x[1], x[2]): int(x[3]) / max(float(x[4]), 1e-9) for x in rows}
def paired(c, base):
    rs = [per[(c, k)] / per[(base, k)] for (cc, k) in per if cc == c and (base, k) in per]
    return f"{statistics.median(rs):.2f}x" if rs and c != base else ""
print("| client | req/s | client CPU s | req per client CPU-s | / wrk, same round | / h2load, same round | errors | target counted / client answered (+ in flight) |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for c in clients:
    r = [x for x in rows if x[1] == c]
    if not r:
        continue
    rps = statistics.median(int(x[3]) / dur for x in r)
    cpu = statistics.median(float(x[4]) for x in r)
    pcs = statistics.median(per[(c, x[2])] for x in r)
    err = statistics.median(int(x[5]) for x in r)
    counts = "; ".join(f"{x[6]} / {x[3]}" + (f" (+{x[7]})" if x[7] != "-" else "") for x in r[:3])
    print(f"| {c} | {rps:,.0f} | {cpu:.2f} | {pcs:,.0f} | {paired(c, 'wrk')} | {paired(c, 'h2load')} | {err:g} | {counts} |")
EOF
done
