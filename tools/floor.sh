#!/usr/bin/env bash
# The floor: tools/floor (the cheapest io_uring HTTP/1.1 client we can
# write), blast with each engine, wrk and h2load --h1 against one loopback
# target, side by side. Prints a Markdown table of medians: req/s, client CPU
# s, requests per client CPU-second, and system calls per request (perf stat
# of a shorter separate run; strace -f -c where perf cannot count them).
#
#   tools/floor.sh                      # blast target
#   TARGET=nginx tools/floor.sh         # nginx, return 200 (13 B)
#   ROUNDS=3 DURATION=3 CLIENTS="floor wrk" tools/floor.sh
#
# floor-batch is floor waiting for up to BATCH (16) completions per
# io_uring_enter instead of one: fewer wake-ups, more latency. blast-uring
# is blast's ring engine (batched completions), blast-tokio-uring the
# tokio-uring engine it replaced, kept for this side-by-side table.
#
# Env: CONNS (64) DURATION (seconds, 5) ROUNDS (5) SYSCALL_S (2) TARGET
#      (blast|nginx) TARGET_CPU (1) CLIENT_CPU (0) CLIENTS BATCH BLAST FLOOR
#      WRK H2LOAD
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-64}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
SYSCALL_S=${SYSCALL_S:-2}
TARGET=${TARGET:-blast}
TARGET_CPU=${TARGET_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
CLIENTS=${CLIENTS:-floor floor-batch blast-uring blast-tokio-uring blast-epoll wrk h2load}
BATCH=${BATCH:-16}
WRK=${WRK:-wrk}
H2LOAD=${H2LOAD:-h2load}

need_blast
if [[ -z "${FLOOR:-}" ]]; then
    cargo build --release --quiet --manifest-path "$root/tools/floor/Cargo.toml"
    FLOOR=$root/tools/floor/target/release/floor
fi
for c in $CLIENTS; do
    case $c in
    wrk) command -v "$WRK" >/dev/null || die "wrk not found" ;;
    h2load) command -v "$H2LOAD" >/dev/null || die "h2load not found (nghttp2-client)" ;;
    floor | floor-batch | blast-uring | blast-tokio-uring | blast-epoll) ;;
    *) echo "floor.sh: unknown client $c" >&2; exit 2 ;;
    esac
done

case "$TARGET" in
blast)
    start_target url --cpus "$TARGET_CPU" --threads 1 --cpus "$TARGET_CPU"
    url=$url/
    target_desc="blast target --threads 1 --cpus $TARGET_CPU"
    ;;
nginx)
    port=$(free_port)
    # The same configuration as tools/compare.sh: one worker, no access log.
    start_nginx "$TARGET_CPU" 1 "" "listen 127.0.0.1:$port backlog=4096;" "$port"
    url=http://127.0.0.1:$port/
    target_desc="nginx $(nginx -v 2>&1 | sed 's|.*/||'), worker_processes 1, return 200 (13 B)"
    ;;
*)
    echo "floor.sh: TARGET must be blast or nginx" >&2
    exit 2
    ;;
esac

# The command of one client for $2 seconds.
client_cmd() {
    case $1 in
    floor) echo "$FLOOR" -c "$CONNS" -d "$2" --cpu "$CLIENT_CPU" "$url" ;;
    floor-batch) echo "$FLOOR" -c "$CONNS" -d "$2" --cpu "$CLIENT_CPU" --batch "$BATCH" "$url" ;;
    blast-uring) echo "$BLAST" -c "$CONNS" -t 1 -d "${2}s" --engine uring --json "$url" ;;
    blast-tokio-uring) echo "$BLAST" -c "$CONNS" -t 1 -d "${2}s" --engine tokio-uring --json "$url" ;;
    blast-epoll) echo "$BLAST" -c "$CONNS" -t 1 -d "${2}s" --engine epoll --json "$url" ;;
    wrk) echo "$WRK" -c "$CONNS" -t 1 -d "${2}s" "$url" ;;
    h2load) echo "$H2LOAD" --h1 -c "$CONNS" -t 1 -D "$2" "$url" ;;
    esac
}

# "requests errors" from a client's output.
parse_out() {
    case $1 in
    floor* | blast-*) python3 -c '
import json, sys
t = open(sys.argv[1]).read().strip()
try:
    j = json.loads(t)
except ValueError:
    j = json.loads(t.splitlines()[-1])
e = j["errors"]
print(j["requests"], (sum(e.values()) if isinstance(e, dict) else e) + j.get("non_2xx", 0))' "$2" ;;
    wrk) awk '/ requests in / { r = $1 } /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
              /Non-2xx or 3xx/ { e += $NF } END { print r, e + 0 }' "$2" ;;
    h2load) awk '/^requests:/ { r = $8; e += $10 + $12 + $14 } /^status codes:/ { e += $7 + $9 } END { print r, e }' "$2" ;;
    esac
}

# One timed run: appends "client round requests elapsed cpu_s errors".
run_one() {
    local c=$1 round=$2 t0 t1 req err
    t0=$(date +%s.%N)
    # shellcheck disable=SC2046 # the client's command, split into words on purpose
    taskset -c "$CLIENT_CPU" /usr/bin/time -f '%U %S' -o "$tmp/time" $(client_cmd "$c" "$DURATION") \
        >"$tmp/out" 2>"$tmp/err" || { echo "floor.sh: $c failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    read -r req err < <(parse_out "$c" "$tmp/out")
    [[ -n "$req" ]] || { echo "floor.sh: no request count from $c" >&2; cat "$tmp/out" >&2; exit 1; }
    read -r user sys <"$tmp/time"
    echo "$c $round $req $DURATION $(python3 -c "print($user + $sys)") $err" >>"$tmp/results"
    printf '  round %d %-12s %10d requests  cpu %5.2fs  %9.0f req/CPU-s  errors %s  (wall %.1fs)\n' "$round" "$c" "$req" \
        "$(python3 -c "print($user + $sys)")" "$(python3 -c "print($req / max($user + $sys, 1e-9))")" "$err" \
        "$(python3 -c "print($t1 - $t0)")" >&2
}

echo "floor.sh: TARGET=$TARGET $url, $ROUNDS rounds of ${DURATION}s, -c $CONNS, clients: $CLIENTS" >&2
: >"$tmp/results"
read -r -a clients <<<"$CLIENTS"
n=${#clients[@]}
for round in $(seq "$ROUNDS"); do
    # Rotate the order each round so no client always runs first or last.
    for i in $(seq 0 $((n - 1))); do
        run_one "${clients[$(((i + round - 1) % n))]}" "$round"
    done
done

# System calls per request: a separate, shorter run of each client.
use_perf=0
if perf stat -e raw_syscalls:sys_enter -x, -o "$tmp/perf" -- true 2>/dev/null &&
    grep -q '^[0-9]' "$tmp/perf"; then
    use_perf=1
fi
sc_events=raw_syscalls:sys_enter
for s in io_uring_enter epoll_wait epoll_ctl read write readv writev sendto recvfrom sendmsg recvmsg; do
    sc_events+=",syscalls:sys_enter_$s"
done
: >"$tmp/syscalls"
for c in "${clients[@]}"; do
    # shellcheck disable=SC2046
    if ((use_perf)); then
        taskset -c "$CLIENT_CPU" perf stat -x, -o "$tmp/perf" -e "$sc_events" -- $(client_cmd "$c" "$SYSCALL_S") \
            >"$tmp/out" 2>"$tmp/err" || { echo "floor.sh: $c failed under perf" >&2; cat "$tmp/err" >&2; exit 1; }
        read -r req _ < <(parse_out "$c" "$tmp/out")
        python3 - "$c" "$req" "$tmp/perf" >>"$tmp/syscalls" <<'EOF'
import sys
c, req = sys.argv[1], int(sys.argv[2] or 0)
if req == 0:  # the run answered nothing (a stalled box): no ratio to print
    print(c, "-", "no requests in this run", sep="\t")
    sys.exit()
tot, parts = 0, []
for line in open(sys.argv[3]):
    f = line.strip().split(",")
    if len(f) < 3 or not f[0].isdigit():
        continue
    n, ev = int(f[0]), f[2]
    if ev == "raw_syscalls:sys_enter":
        tot = n
    elif n / req >= 0.01:
        parts.append((n, ev.replace("syscalls:sys_enter_", "")))
parts.sort(reverse=True)
print(c, f"{tot / req:.3f}", ", ".join(f"{name} {n / req:.2f}" for n, name in parts) or "-", sep="\t")
EOF
    else
        taskset -c "$CLIENT_CPU" strace -f -c -o "$tmp/strace" $(client_cmd "$c" "$SYSCALL_S") \
            >"$tmp/out" 2>"$tmp/err" || { echo "floor.sh: $c failed under strace" >&2; cat "$tmp/err" >&2; exit 1; }
        read -r req _ < <(parse_out "$c" "$tmp/out")
        python3 - "$c" "$req" "$tmp/strace" >>"$tmp/syscalls" <<'EOF'
import sys
c, req = sys.argv[1], int(sys.argv[2] or 0)
if req == 0:  # the run answered nothing (a stalled box): no ratio to print
    print(c, "-", "no requests in this run", sep="\t")
    sys.exit()
tot, parts = 0, []
for line in open(sys.argv[3]):
    f = line.split()
    if len(f) >= 5 and f[-1] == "total":
        tot = int(f[3])
    elif len(f) >= 5 and f[3].isdigit() and int(f[3]) / req >= 0.01:
        parts.append((int(f[3]), f[-1]))
parts.sort(reverse=True)
print(c, f"{tot / req:.3f}", ", ".join(f"{name} {n / req:.2f}" for n, name in parts[:4]) or "-", sep="\t")
EOF
    fi
    echo "  syscalls: $(tail -1 "$tmp/syscalls")" >&2
done

cat <<EOF

### The floor: $TARGET target, -c $CONNS, one client thread

- machine: $(machine); load before the table: $(uptime | sed 's/.*load/load/')
- target: $target_desc on CPU $TARGET_CPU, $url; clients on CPU $CLIENT_CPU
- $ROUNDS rounds of ${DURATION}s, order rotating each round, medians; client CPU is user+sys from /usr/bin/time
- system calls: $( ((use_perf)) && echo "perf stat -e raw_syscalls:sys_enter" || echo "strace -f -c") on a separate ${SYSCALL_S}s run of each client
- script: TARGET=$TARGET CONNS=$CONNS DURATION=$DURATION ROUNDS=$ROUNDS tools/floor.sh
- floor: \`$(client_cmd floor "$DURATION" | sed "s|$root/||")\` (floor-batch: \`--batch $BATCH\`); blast: \`$(client_cmd blast-uring "$DURATION" | sed "s|$root/||")\` (and \`--engine tokio-uring\`, \`--engine epoll\`)
- wrk: \`$(client_cmd wrk "$DURATION")\` ($("$WRK" -v 2>&1 | head -1 | awk '{ print $1, $2 }' || true)); h2load: \`$(client_cmd h2load "$DURATION")\` ($("$H2LOAD" --version 2>&1 | head -1))

EOF
python3 - "$tmp/results" "$tmp/syscalls" "${clients[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
sc = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1:] for l in open(sys.argv[2])}
clients = sys.argv[3:]
med = {}
for c in clients:
    r = [x for x in rows if x[0] == c]
    med[c] = (
        statistics.median(int(x[2]) / float(x[3]) for x in r),
        statistics.median(float(x[4]) for x in r),
        statistics.median(int(x[2]) / max(float(x[4]), 1e-9) for x in r),
        statistics.median(int(x[5]) for x in r),
    )
base = med.get("floor")
# The machine's speed can change between rounds (it is shared): the ratio
# of each round's figure to the floor's in the same round is steadier than
# the ratio of two medians, so both are shown.
per_round = {(x[0], x[1]): int(x[2]) / max(float(x[4]), 1e-9) for x in rows}
def paired(c, b="floor"):
    rs = [per_round[(c, k)] / per_round[(b, k)]
          for (cc, k) in per_round if cc == c and (b, k) in per_round]
    return f"{statistics.median(rs):.2f}x" if rs else ""
print("| client | req/s | client CPU s | req per client CPU-s | of the floor | of the floor, same round | of floor-batch, same round | of wrk, same round | syscalls per request | of which |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for c in clients:
    rps, cpu, per, err = med[c]
    of = f"{per / base[2]:.2f}x" if base else ""
    s = sc.get(c, ["", ""])
    e = f" ({err:g} errors)" if err else ""
    print(f"| {c}{e} | {rps:,.0f} | {cpu:.2f} | {per:,.0f} | {of} | {paired(c)} | {paired(c, 'floor-batch')} | {paired(c, 'wrk')} | {s[0]} | {s[1]} |")
EOF
