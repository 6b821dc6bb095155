#!/usr/bin/env bash
# Run blast and wrk side by side against one target on loopback and print
# the medians (req/s, client CPU, requests per client CPU-second, peak RSS)
# as a Markdown table. See tools/README.md.
#
#   tools/compare.sh                          # blast's built-in target
#   TARGET=nginx tools/compare.sh             # nginx (static body)
#   MODE=rss tools/compare.sh                 # peak RSS with 10,000 connections
#   TLS=1 TARGET=nginx tools/compare.sh       # HTTPS (self-signed certificate)
#   TLS=1 KEEPALIVE=0 TARGET=nginx tools/compare.sh   # a TLS handshake per request
#
# Env: CONNS THREADS DURATION ROUNDS ENGINE TARGET TARGET_CPUS CLIENT_CPUS
#      TARGET_THREADS PORT BLAST WRK MODE TLS KEEPALIVE
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MODE=${MODE:-throughput}
case "$MODE" in
throughput)
    CONNS=${CONNS:-64}
    DURATION=${DURATION:-5s}
    ROUNDS=${ROUNDS:-5}
    ;;
rss)
    CONNS=${CONNS:-10000}
    DURATION=${DURATION:-3s}
    ROUNDS=${ROUNDS:-3}
    ;;
*)
    echo "compare.sh: MODE must be throughput or rss" >&2
    exit 2
    ;;
esac
THREADS=${THREADS:-1}
ENGINE=${ENGINE:-auto}
TARGET=${TARGET:-blast}
TARGET_CPUS=${TARGET_CPUS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
TARGET_THREADS=${TARGET_THREADS:-1}
PORT=${PORT:-0}
WRK=${WRK:-wrk}
TLS=${TLS:-0}
KEEPALIVE=${KEEPALIVE:-1}

need_blast
command -v "$WRK" >/dev/null || die "wrk not found"

# Duration in seconds (wrk/blast syntax: 500ms, 5s, 2m, 1h, or plain seconds).
dur_s=$(python3 -c '
import re, sys
m = re.fullmatch(r"([0-9.]+)(ms|s|m|h)?", sys.argv[1])
if not m: sys.exit("compare.sh: bad DURATION " + sys.argv[1])
print(float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)])
' "$DURATION")

# Many connections need many descriptors (the target shares this limit).
want_fds=$((CONNS * 2 + 1024))
if (($(ulimit -n) < want_fds)); then
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    if (($(ulimit -n) < CONNS + 64)); then
        echo "compare.sh: ulimit -n is $(ulimit -n), too low for $CONNS connections" >&2
        exit 1
    fi
fi

case "$TARGET" in
blast)
    tls_args=()
    if [[ $TLS == 1 ]]; then tls_args=(--tls --cert-out "$tmp/cert.pem"); fi
    start_target url --cpus "$TARGET_CPUS" --listen "127.0.0.1:$PORT" "${tls_args[@]}" \
        --threads "$TARGET_THREADS" --cpus "$TARGET_CPUS"
    url=$url/
    target_desc="blast target --threads $TARGET_THREADS --cpus $TARGET_CPUS (taskset -c $TARGET_CPUS)"
    ;;
nginx)
    [[ "$PORT" != 0 ]] || PORT=$(free_port)
    listen_tls='' tls_conf='' scheme=http
    if [[ $TLS == 1 ]]; then
        self_signed_cert
        listen_tls=" ssl"
        tls_conf="ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets on;
        ssl_session_cache shared:blast:10m;"
        scheme=https
    fi
    start_nginx "$TARGET_CPUS" "$TARGET_THREADS" "" \
        "listen 127.0.0.1:$PORT$listen_tls backlog=4096;
        $tls_conf" "$PORT"
    url=$scheme://127.0.0.1:$PORT/
    target_desc="nginx $(nginx -v 2>&1 | sed 's|.*/||'), worker_processes $TARGET_THREADS, return 200 (13 B) (taskset -c $TARGET_CPUS)"
    ;;
*)
    echo "compare.sh: TARGET must be blast or nginx" >&2
    exit 2
    ;;
esac

# CPU ticks (user+sys) used so far by the target and its children.
target_ticks() {
    local sum=0 p
    for p in $target_pid $(pgrep -P "$target_pid" || true); do
        [[ -r /proc/$p/stat ]] || continue
        sum=$((sum + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
    done
    echo "$sum"
}

wrk_cmd=("$WRK" -c "$CONNS" -t "$THREADS" -d "$DURATION")
blast_cmd=("$BLAST" -c "$CONNS" -t "$THREADS" -d "$DURATION" --engine "$ENGINE" --json)
# wrk does not verify certificates; blast does (against the target's own).
if [[ $TLS == 1 ]]; then blast_cmd+=(--cacert "$tmp/cert.pem"); fi
# wrk has no keep-alive switch: "Connection: close" makes it reconnect per request.
if [[ $KEEPALIVE == 0 ]]; then
    wrk_cmd+=(-H "Connection: close")
    blast_cmd+=(--no-keepalive)
fi
wrk_cmd+=("$url")
blast_cmd+=("$url")
time_cmd=(taskset -c "$CLIENT_CPUS" /usr/bin/time -f '%U %S %M' -o "$tmp/time")
hz=$(getconf CLK_TCK)

# One run; appends "tool round rps cpu_s rss_kb errors target_cpu_s" to results.
run_one() {
    local tool=$1 round=$2 rps errors t0 t1
    t0=$(target_ticks)
    if [[ $tool == wrk ]]; then
        "${time_cmd[@]}" "${wrk_cmd[@]}" >"$tmp/out" 2>"$tmp/err" ||
            { echo "compare.sh: wrk failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/out")
        errors=$(awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
                      /Non-2xx or 3xx/ { n += $NF } END { print n + 0 }' "$tmp/out")
    else
        "${time_cmd[@]}" "${blast_cmd[@]}" >"$tmp/out" 2>"$tmp/err" ||
            { echo "compare.sh: blast failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
        read -r rps errors < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["rps"], sum(j["errors"].values()))' "$tmp/out")
    fi
    t1=$(target_ticks)
    read -r user sys rss <"$tmp/time"
    [[ -n "$rps" ]] || { echo "compare.sh: no req/s from $tool" >&2; cat "$tmp/out" >&2; exit 1; }
    echo "$tool $round $rps $(python3 -c "print($user + $sys)") $rss $errors $(python3 -c "print(($t1 - $t0) / $hz)")" >>"$tmp/results"
    printf '  round %d %-5s %12.0f req/s  cpu %5.2fs  rss %6d KB  errors %s\n' \
        "$round" "$tool" "$rps" "$(python3 -c "print($user + $sys)")" "$rss" "$errors" >&2
}

echo "compare.sh: MODE=$MODE TARGET=$TARGET TLS=$TLS KEEPALIVE=$KEEPALIVE $url, $ROUNDS rounds of $DURATION" >&2
: >"$tmp/results"
for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then
        run_one wrk "$round"
        run_one blast "$round"
    else
        run_one blast "$round"
        run_one wrk "$round"
    fi
done

blast_ver=$("$BLAST" --version 2>/dev/null || echo blast)
wrk_ver=$("$WRK" -v 2>&1 | head -1 | awk '{ print $1, $2 }' || true)
cat <<EOF

### blast vs wrk ($MODE, $TARGET target, TLS=$TLS KEEPALIVE=$KEEPALIVE)

- machine: $(machine)
- target: $target_desc, $url
- clients pinned: taskset -c $CLIENT_CPUS; $ROUNDS rounds, order alternating; medians
- script: MODE=$MODE TARGET=$TARGET TLS=$TLS KEEPALIVE=$KEEPALIVE CONNS=$CONNS THREADS=$THREADS DURATION=$DURATION ROUNDS=$ROUNDS ENGINE=$ENGINE TARGET_CPUS=$TARGET_CPUS CLIENT_CPUS=$CLIENT_CPUS tools/compare.sh
- wrk ($wrk_ver): \`${wrk_cmd[*]}\`
- blast ($blast_ver): \`${blast_cmd[*]#"$root"/}\`

EOF
python3 - "$tmp/results" "$dur_s" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
dur = float(sys.argv[2])
med = {}
for tool in ("wrk", "blast"):
    r = [x for x in rows if x[0] == tool]
    rps = statistics.median(float(x[2]) for x in r)
    cpu = statistics.median(float(x[3]) for x in r)
    per_cpu = statistics.median(float(x[2]) * dur / max(float(x[3]), 1e-9) for x in r)
    rss = statistics.median(float(x[4]) for x in r) / 1024
    err = statistics.median(int(x[5]) for x in r)
    tcpu = statistics.median(float(x[6]) for x in r)
    med[tool] = (rps, cpu, per_cpu, rss, err, tcpu)
print("| | req/s | client CPU s (user+sys) | req per client CPU-s | peak RSS MB | errors | target CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for tool in ("wrk", "blast"):
    rps, cpu, per_cpu, rss, err, tcpu = med[tool]
    print(f"| {tool} | {rps:,.0f} | {cpu:.2f} | {per_cpu:,.0f} | {rss:.1f} | {err:g} | {tcpu:.2f} |")
w, b = med["wrk"], med["blast"]
ratio = lambda i: f"{b[i] / w[i]:.2f}x" if w[i] else "n/a"
print(f"| blast/wrk | {ratio(0)} | {ratio(1)} | {ratio(2)} | {ratio(3)} | | |")
EOF
