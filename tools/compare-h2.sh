#!/usr/bin/env bash
# blast --http2 and h2load side by side against one HTTP/2 target on
# loopback (`blast target --http2`, or nginx with TARGET=nginx): target
# pinned to one CPU, the client to another, one client thread. Prints req/s
# and client CPU seconds per round, then the medians and blast/h2load as a
# Markdown table. See tools/README.md.
#
#   tools/compare-h2.sh                  # h2c -m 1, h2c -m 10, TLS -m 1
#   CASES="h2c:100" tools/compare-h2.sh  # scheme:streams pairs
#   TARGET=nginx tools/compare-h2.sh     # nginx: h2c and TLS h2 (self-signed)
#
# Env: CONNS DURATION_S ROUNDS CASES TARGET TARGET_CPU TARGET_THREADS
#      CLIENT_CPU BLAST H2LOAD ENGINES (blast's engines, each beside h2load in
#      every round; default "uring epoll")
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-64}
DURATION_S=${DURATION_S:-5}
ROUNDS=${ROUNDS:-2}
CASES=${CASES:-"h2c:1 h2c:10 tls:1"}
TARGET=${TARGET:-blast}
TARGET_CPU=${TARGET_CPU:-1}
TARGET_THREADS=${TARGET_THREADS:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
ENGINES=${ENGINES:-"uring epoll"}
H2LOAD=${H2LOAD:-h2load}

case "$TARGET" in
blast) ;;
nginx)
    for t in nginx openssl; do
        command -v "$t" >/dev/null || die "$t not found"
    done
    ;;
*)
    echo "compare-h2.sh: TARGET must be blast or nginx" >&2
    exit 2
    ;;
esac

need_blast
command -v "$H2LOAD" >/dev/null || die "h2load not found"

# Start nginx with an h2c port and a TLS (ALPN h2) port, one process pinned
# to TARGET_CPU with TARGET_THREADS workers; sets $plain, $tls and $cert.
start_nginx_h2() {
    local port port_tls
    port=$(free_port)
    port_tls=$(free_port)
    while [[ $port_tls == "$port" ]]; do port_tls=$(free_port); done
    cert=$tmp/cert.pem
    self_signed_cert
    # nginx 1.22 syntax: `listen ... http2` (h2c by prior knowledge without
    # ssl); keepalive_requests also bounds the requests per HTTP/2 connection.
    start_nginx "$TARGET_CPU" "$TARGET_THREADS" "http2_max_concurrent_streams 128;" \
        "listen 127.0.0.1:$port http2 backlog=4096;
        listen 127.0.0.1:$port_tls ssl http2 backlog=4096;
        ssl_certificate $cert;
        ssl_certificate_key $tmp/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;" "$port" "$port_tls"
    plain=http://127.0.0.1:$port
    tls=https://127.0.0.1:$port_tls  # the certificate also names IP:127.0.0.1
}

# req/s and client CPU seconds of one run, as "RPS CPU".
run_blast() { # url streams extra
    # shellcheck disable=SC2086 # $3: extra flags, split into words on purpose
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$BLAST" --http2 -c "$CONNS" -t 1 -m "$2" -d "${DURATION_S}s" --json $3 "$1" 2>/dev/null >"$tmp/out"
    local rps
    rps=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["rps"]))' "$tmp/out")
    echo "$rps $(awk '{print $1 + $2}' "$tmp/time")"
}

run_h2load() { # url streams
    /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$CLIENT_CPU" \
        "$H2LOAD" -c "$CONNS" -t 1 -m "$2" -D "$DURATION_S" "$1" >"$tmp/out" 2>&1
    local rps
    rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$tmp/out")
    echo "${rps%.*} $(awk '{print $1 + $2}' "$tmp/time")"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

if [[ $TARGET == nginx ]]; then
    start_nginx_h2
    target_desc="nginx $(nginx -v 2>&1 | sed 's|.*/||'), worker_processes $TARGET_THREADS, http2_max_concurrent_streams 128, return 200 (13 B) (taskset -c $TARGET_CPU)"
else
    start_target plain --cpus "$TARGET_CPU" --http2 --threads "$TARGET_THREADS" --cpus "$TARGET_CPU"
    cert=$tmp/cert.pem
    start_target tls --cpus "$TARGET_CPU" --http2 --threads "$TARGET_THREADS" --cpus "$TARGET_CPU" \
        --tls --cert-out "$cert"
    tls=${tls/127.0.0.1/localhost}
    target_desc="blast target --http2 --threads $TARGET_THREADS --cpus $TARGET_CPU (taskset -c $TARGET_CPU)"
fi

blast_ver=$("$BLAST" --version 2>/dev/null || echo blast)
h2load_ver=$("$H2LOAD" --version 2>&1 | head -1 || true)
cat <<EOF
### blast --http2 vs h2load ($TARGET target)

- machine: $(machine)
- target: $target_desc; h2c $plain, TLS $tls
- client pinned: taskset -c $CLIENT_CPU, one thread, $CONNS connections; $ROUNDS rounds of ${DURATION_S}s, order rotating; medians
- script: TARGET=$TARGET CONNS=$CONNS DURATION_S=$DURATION_S ROUNDS=$ROUNDS CASES="$CASES" ENGINES="$ENGINES" TARGET_CPU=$TARGET_CPU TARGET_THREADS=$TARGET_THREADS CLIENT_CPU=$CLIENT_CPU tools/compare-h2.sh
- $blast_ver, $h2load_ver

EOF
echo "| case | engine | blast req/s | h2load req/s | blast/h2load | blast CPU s | h2load CPU s | blast req per CPU-s | h2load req per CPU-s | blast/h2load per CPU-s (median of rounds) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CASES; do
    scheme=${c%%:*}
    m=${c##*:}
    if [[ $scheme == tls ]]; then url=$tls extra="--cacert $cert"; else url=$plain extra=""; fi
    : >"$tmp/h"
    for e in $ENGINES; do : >"$tmp/b.$e" && : >"$tmp/r.$e"; done
    for r in $(seq "$ROUNDS"); do
        # Rotate the order so no client always runs on a warmer box.
        # shellcheck disable=SC2206 # ENGINES: a list, split into words on purpose
        order=("h2load" $ENGINES)
        k=$(((r - 1) % ${#order[@]}))
        order=("${order[@]:k}" "${order[@]:0:k}")
        for o in "${order[@]}"; do
            if [[ $o == h2load ]]; then
                run_h2load "$url" "$m" >>"$tmp/h"
            else
                run_blast "$url" "$m" "--engine $o $extra" >>"$tmp/b.$o"
            fi
        done
        line="  round $r $c: h2load $(tail -1 "$tmp/h")"
        for e in $ENGINES; do
            line+=", blast $e $(tail -1 "$tmp/b.$e")"
            paste -d' ' <(tail -1 "$tmp/b.$e") <(tail -1 "$tmp/h") |
                awk '{printf "%.3f\n", ($1 / ($2 > 0.01 ? $2 : 0.01)) / ($3 / ($4 > 0.01 ? $4 : 0.01))}' >>"$tmp/r.$e"
        done
        echo "$line" >&2
    done
    h=$(cut -d' ' -f1 "$tmp/h" | median)
    hc=$(cut -d' ' -f2 "$tmp/h" | median)
    hpc=$(python3 -c "print(round($h * $DURATION_S / max($hc, 0.01)))")
    for e in $ENGINES; do
        b=$(cut -d' ' -f1 "$tmp/b.$e" | median)
        bc=$(cut -d' ' -f2 "$tmp/b.$e" | median)
        ratio=$(python3 -c "print(f'{$b / max($h, 1):.2f}x')")
        bpc=$(python3 -c "print(round($b * $DURATION_S / max($bc, 0.01)))")
        echo "| $scheme -m $m | $e | $b | $h | $ratio | $bc | $hc | $bpc | $hpc | **$(median <"$tmp/r.$e")x** ($(paste -sd' ' "$tmp/r.$e")) |"
    done
done
