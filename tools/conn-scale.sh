#!/usr/bin/env bash
# Connections at scale: blast's memory per connection and its connect storm,
# against `blast target` on loopback, for each engine. Prints a Markdown
# table (medians of ROUNDS runs).
#
#   tools/conn-scale.sh                       # SIZES="10000 100000" + the largest that fits
#   SIZES=10000 ROUNDS=1 tools/conn-scale.sh
#   ENGINES=epoll tools/conn-scale.sh
#
# Memory per connection = (peak RSS at N - peak RSS at BASE connections)
# / (N - BASE), peak RSS from GNU time (%M), same threads and settings.
# Kernel socket memory is not in a process's RSS and is not counted.
#
# Connect storm = time from blast's start (exec, closed loop, --ramp-up 0)
# until the target has accepted the N-th connection, polled every POLL_MS
# on the target's GET /__blast/stats over one keep-alive connection opened
# before. blast's own connect_us (each connect, from its attempt's start)
# is shown beside it.
#
# Sizes that cannot be opened here are skipped with the reason: each
# connection is an open file in blast and another in the target, each
# process needs N + FD_MARGIN under the hard limit (ulimit -Hn), which only
# root can raise; and N / (source addresses) must fit one address's local
# port range. FIT=1 (default) adds the largest multiple of 1,000 that fits.
#
# Env: SIZES BASE FIT ENGINES SOURCE DURATION ROUNDS THREADS CLIENT_CPUS
#      TARGET_THREADS TARGET_CPUS POLL_MS FD_MARGIN BLAST
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SIZES=${SIZES:-10000 100000}
BASE=${BASE:-100}
FIT=${FIT:-1}
ENGINES=${ENGINES:-uring epoll}
SOURCE=${SOURCE:-127.0.0.2-127.0.0.9}
DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
TARGET_THREADS=${TARGET_THREADS:-1}
TARGET_CPUS=${TARGET_CPUS:-1}
POLL_MS=${POLL_MS:-10}
FD_MARGIN=${FD_MARGIN:-1000}

need_blast
[[ -x /usr/bin/time ]] || die "needs GNU time (/usr/bin/time)"

# Only loopback: every source address must be in 127.0.0.0/8.
read -r n_src src_ok < <(python3 - "$SOURCE" <<'EOF'
import ipaddress, sys
addrs = []
for part in sys.argv[1].split(","):
    if "-" in part:
        a, b = (ipaddress.ip_address(x) for x in part.split("-"))
        addrs += [ipaddress.ip_address(i) for i in range(int(a), int(b) + 1)]
    else:
        addrs.append(ipaddress.ip_address(part))
print(len(addrs), int(all(a in ipaddress.ip_network("127.0.0.0/8") for a in addrs)))
EOF
)
((src_ok)) || { echo "conn-scale.sh: SOURCE must be 127.0.0.0/8 addresses" >&2; exit 2; }

ulimit -n "$(ulimit -Hn)"
hard=$(ulimit -Hn)
read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
ports=$((port_hi - port_lo + 1))

# Largest multiple of 1,000 each process can open under the hard limit.
fit=$(((hard - FD_MARGIN) / 1000 * 1000))
sizes=()
skipped=()
for n in $SIZES; do
    if ((n + FD_MARGIN > hard)); then
        skipped+=("$n: needs about $((n + FD_MARGIN)) open files in blast and as many in the target; the hard limit here is $hard (ulimit -Hn) and raising it takes root (CAP_SYS_RESOURCE)")
    elif (((n + n_src - 1) / n_src > ports)); then
        skipped+=("$n: $((n / n_src)) connections per source address exceed the $ports local ports of ip_local_port_range; use more SOURCE addresses")
    else
        sizes+=("$n")
    fi
done
if ((FIT)) && ((fit > BASE)) && [[ " ${sizes[*]} " != *" $fit "* ]]; then
    sizes+=("$fit")
fi
if ((${#sizes[@]})); then
    mapfile -t sizes < <(printf '%s\n' "${sizes[@]}" | sort -n | uniq)
else
    echo "conn-scale.sh: no size can be measured here:" >&2
    for s in "${skipped[@]}"; do echo "- $s" >&2; done
    exit 1
fi

start_target url --cpus "$TARGET_CPUS" --threads "$TARGET_THREADS" --cpus "$TARGET_CPUS"
url=$url/

# One run: blast -c N, started from python so that the storm is timed from
# its exec; appends "engine n round rss_kb storm_s connect_p50_us
# connect_max_us errors rps" to results.
run_one() {
    local engine=$1 n=$2 round=$3
    local cmd=(taskset -c "$CLIENT_CPUS" /usr/bin/time -f '%M %e' -o "$tmp/time"
        "$BLAST" -c "$n" -t "$THREADS" -d "$DURATION" --engine "$engine"
        --source "$SOURCE" --ramp-up 0 --json -q "$url")
    python3 - "$url" "$n" "$POLL_MS" "$((DURATION + 30))" "$tmp/out" "$tmp/err" "${cmd[@]}" \
        >"$tmp/storm" <<'EOF'
import http.client, json, subprocess, sys, time, urllib.parse
url, n, poll_ms, limit, out, err = sys.argv[1:7]
n, poll = int(n), int(poll_ms) / 1000
cmd = sys.argv[7:]
u = urllib.parse.urlsplit(url)
stats = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
def accepted():
    stats.request("GET", "/__blast/stats")
    return json.loads(stats.getresponse().read())["connections"]
before = accepted()
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=open(out, "w"), stderr=open(err, "w"))
storm = None
while p.poll() is None:
    now = time.monotonic()
    if storm is None and accepted() - before >= n:
        storm = now - t0
    if now - t0 > float(limit):
        p.kill()
        break
    time.sleep(poll)
rc = p.wait()
print(rc, "nan" if storm is None else f"{storm:.3f}")
EOF
    read -r rc storm <"$tmp/storm"
    if [[ $rc != 0 ]]; then
        echo "conn-scale.sh: blast -c $n --engine $engine exited $rc:" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    read -r rss _ <"$tmp/time"
    read -r p50 cmax errors rps < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
c = j["connect_us"]
print(c["p50"], c["max"], sum(j["errors"].values()), round(j["rps"]))' "$tmp/out")
    echo "$engine $n $round $rss $storm $p50 $cmax $errors $rps" >>"$tmp/results"
    printf '  %-5s c=%-6d round %d  peak RSS %7d KB  storm %6ss  connect p50 %6d us max %8d us  errors %s  %s req/s\n' \
        "$engine" "$n" "$round" "$rss" "$storm" "$p50" "$cmax" "$errors" "$rps" >&2
}

echo "conn-scale.sh: sizes ${sizes[*]} (base $BASE), engines $ENGINES, $ROUNDS rounds of ${DURATION}s, $url" >&2
: >"$tmp/results"
for round in $(seq "$ROUNDS"); do
    for engine in $ENGINES; do
        for n in "$BASE" "${sizes[@]}"; do
            run_one "$engine" "$n" "$round"
        done
    done
done

blast_ver=$("$BLAST" --version 2>/dev/null || echo blast)
cat <<EOF

### Connections: memory and connect storm

- machine: $(machine); open files: hard limit $hard; local ports $port_lo-$port_hi
- target: blast target --threads $TARGET_THREADS --cpus $TARGET_CPUS (taskset -c $TARGET_CPUS), $url
- client ($blast_ver): \`taskset -c $CLIENT_CPUS blast -c N -t $THREADS -d ${DURATION}s --engine E --source $SOURCE --ramp-up 0 --json -q URL\`
- script: SIZES="$SIZES" BASE=$BASE ROUNDS=$ROUNDS DURATION=$DURATION tools/conn-scale.sh; medians of $ROUNDS rounds
- memory per connection: (peak RSS at N - peak RSS at $BASE) / (N - $BASE); kernel socket buffers are not in RSS
- storm: from blast's exec until the target has accepted N connections (polled every ${POLL_MS} ms); connect p50/max: blast's connect_us

EOF
python3 - "$tmp/results" "$BASE" "$ENGINES" <<'EOF'
import math, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
base, engines = int(sys.argv[2]), sys.argv[3].split()
def med(engine, n, i):
    v = [float(r[i]) for r in rows if r[0] == engine and int(r[1]) == n]
    v = [x for x in v if not math.isnan(x)]
    return statistics.median(v) if v else float("nan")
print("| engine | connections | peak RSS MB | bytes per connection | storm: all N accepted (s) | connect p50 / max (ms) | errors | req/s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for e in engines:
    rss0 = med(e, base, 3)
    for n in sorted({int(r[1]) for r in rows if r[0] == e}):
        rss = med(e, n, 3)
        per = "" if n == base else f"{(rss - rss0) * 1024 / (n - base):,.0f}"
        storm = med(e, n, 4)
        print(f"| {e} | {n:,} | {rss / 1024:.1f} | {per} | {storm:.2f} | "
              f"{med(e, n, 5) / 1000:.1f} / {med(e, n, 6) / 1000:.0f} | {med(e, n, 7):g} | {med(e, n, 8):,.0f} |")
EOF
if ((${#skipped[@]})); then
    echo
    echo "Not measured here:"
    for s in "${skipped[@]}"; do echo "- $s"; done
fi
