#!/usr/bin/env bash
# Thread scaling: blast and wrk with 1, 2, 4, 8 threads (64 connections per
# thread) against one target pinned to other cores, each thread count run
# by tools/compare.sh (interleaved rounds, medians). Needs 2 x max(THREADS)
# CPUs or more to mean anything: generators on the first CPUs, the target
# on the rest. Prints one table: req/s of each tool, the blast/wrk ratio,
# and blast's scaling efficiency (req/s at T threads over T times its
# one-thread req/s).
#
#   tools/scaling.sh                           # THREADS="1 2 4 8" on a 16-CPU box
#   THREADS="1" tools/scaling.sh               # smoke test on a small machine
#   TARGET=nginx tools/scaling.sh
#
# Env: THREADS CONNS_PER_THREAD DURATION ROUNDS TARGET TARGET_THREADS ENGINE BLAST
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
THREADS=${THREADS:-"1 2 4 8"}
CONNS_PER_THREAD=${CONNS_PER_THREAD:-64}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
ncpu=$(nproc)
max_t=$(tr ' ' '\n' <<<"$THREADS" | sort -n | tail -1)
if ((ncpu < max_t + 1)); then
    echo "scaling.sh: $ncpu CPUs cannot hold $max_t generator threads and a target" >&2
    exit 2
fi
# Generators on CPUs 0..max_t-1, the target on all the others.
target_cpus=$(seq -s, "$max_t" $((ncpu - 1)))
TARGET_THREADS=${TARGET_THREADS:-$((ncpu - max_t))}
need_blast

rows=()
for t in $THREADS; do
    client_cpus=$(seq -s, 0 $((t - 1)))
    out=$(THREADS=$t CONNS=$((t * CONNS_PER_THREAD)) DURATION=$DURATION ROUNDS=$ROUNDS \
        CLIENT_CPUS=$client_cpus TARGET_CPUS=$target_cpus TARGET_THREADS=$TARGET_THREADS \
        "$root/tools/compare.sh")
    wrk=$(awk -F'|' '$2 ~ /^ wrk / {gsub(/[ ,]/, "", $3); print $3}' <<<"$out")
    blast=$(awk -F'|' '$2 ~ /^ blast / {gsub(/[ ,]/, "", $3); print $3}' <<<"$out")
    blast_cpu=$(awk -F'|' '$2 ~ /^ blast / {gsub(/[ ,]/, "", $5); print $5}' <<<"$out")
    wrk_cpu=$(awk -F'|' '$2 ~ /^ wrk / {gsub(/[ ,]/, "", $5); print $5}' <<<"$out")
    rows+=("$t $((t * CONNS_PER_THREAD)) $wrk $blast $wrk_cpu $blast_cpu")
done

echo "machine: $ncpu CPUs, $(uname -r); target on CPUs $target_cpus ($TARGET_THREADS threads); $ROUNDS rounds of $DURATION per point, medians"
echo
printf '%s\n' "${rows[@]}" | python3 -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
base = float(rows[0][3])
print("| threads | connections | wrk req/s | blast req/s | blast/wrk | wrk req per CPU-s | blast req per CPU-s | blast scaling efficiency |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for t, c, w, b, wc, bc in rows:
    t, w, b, wc, bc = int(t), float(w), float(b), float(wc), float(bc)
    print(f"| {t} | {c} | {w:,.0f} | {b:,.0f} | {b / w:.2f}x | {wc:,.0f} | {bc:,.0f} | {b / (t * base):.0%} |")
'
