#!/usr/bin/env bash
# Counts allocator calls and instructions per request on the hot path with
# valgrind's callgrind (instruction counts are repeatable on a noisy machine).
# Runs blast -n N and -n 2N against the built-in target; whatever grows with
# the extra N requests is per-request cost. Allocations made from the
# connection loop must not grow: the receive buffers are allocated once per
# connection, nothing per request. Usage: tools/hotpath-allocs.sh [N] [engine]
# TLS=1 runs over HTTPS (the target's own certificate, trusted with --cacert).
# SCENARIO=1 sends a scenario of 10 requests whose paths and JSON bodies take
# 10,000 CSV rows (100,000 pre-encoded variants) instead of one request.
# BLAST=path measures that binary instead of building this checkout's.
# EXTRA="--check 'status == 200'" adds flags to every blast run (words
# split as the shell would, quotes kept). URL=http://... measures against
# that server instead of the built-in target (e.g. one that answers JSON).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
N=${1:-5000}
ENGINE=${2:-epoll}
need_blast
command -v valgrind >/dev/null || die "needs valgrind"

TLS=${TLS:-0}
tls_target=() tls_client=()
if [[ $TLS == 1 ]]; then
    tls_target=(--tls --cert-out "$tmp/cert.pem")
    tls_client=(--cacert "$tmp/cert.pem")
fi
if [[ -n ${URL:-} ]]; then
    url=$URL
else
    start_target url --threads 1 "${tls_target[@]}"
fi
extra=()
if [[ -n ${EXTRA:-} ]]; then
    eval "extra=($EXTRA)"
fi

SCENARIO=${SCENARIO:-0}
mix=()
if [[ $SCENARIO == 1 ]]; then
    python3 "$root/tools/mix-fixture.py" "$tmp"
    mix=(--scenario "$tmp/scenario.toml")
fi

# shellcheck disable=SC2154 # url is set by start_target (lib.sh)
measure() { # $1 = requests; prints "allocs instructions"
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" --dump-instr=no \
        "$BLAST" -n "$1" -c 4 -t 1 --engine "$ENGINE" "${tls_client[@]}" "${mix[@]}" "${extra[@]}" --json "$url" > /dev/null 2> "$tmp/vg.$1"
    python3 - "$tmp/cg.$1" <<'PY'
import re, sys
# Allocator calls, all of them and those made from the connection loop
# (conn::run and what LTO inlined into it: the exchange, the parser, the
# stats record). The latter is the hot path; per-second snapshots and
# set-up allocate elsewhere, and their count grows with run time, not
# with requests.
names, fn, cfn, total = {}, '', None, 0
allocs = hot = 0
alloc = re.compile(r'mi_(malloc|zalloc|calloc|realloc)(_aligned)?|malloc|calloc|realloc')
for line in open(sys.argv[1]):
    m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?', line)
    if m:
        if m.group(3): names[m.group(2)] = m.group(3)
        name = names.get(m.group(2), '')
        if m.group(1) == 'fn': fn = name
        else: cfn = name
        continue
    m = re.match(r'calls=(\d+)', line)
    if m and cfn is not None:
        if alloc.fullmatch(cfn):
            allocs += int(m.group(1))
            if 'blast::engine::conn::' in fn or 'blast::engine::link::' in fn:
                hot += int(m.group(1))
        cfn = None
    m = re.match(r'summary: (\d+)', line) or re.match(r'totals: (\d+)', line)
    if m: total = int(m.group(1))
print(allocs, hot, total)
PY
}
read -r a1 h1 i1 < <(measure "$N")
read -r a2 h2 i2 < <(measure $((2 * N)))
echo "engine $ENGINE, TLS=$TLS, SCENARIO=$SCENARIO, EXTRA=${EXTRA:-}, callgrind, blast -c 4 -t 1 against blast target ($url)"
printf '%-10s %18s %26s %16s\n' requests "allocations (all)" "from the connection loop" instructions
printf '%-10s %18s %26s %16s\n' "$N" "$a1" "$h1" "$i1" $((2 * N)) "$a2" "$h2" "$i2"
python3 -c "
n=$N; da=$a2-$a1; dh=$h2-$h1; di=$i2-$i1
print(f'per extra request: {dh/n:.4f} allocations in the connection loop, {da/n:.4f} in all, {di/n:.0f} instructions (user space)')
print('(over plain HTTP the other allocations are set-up and the once-a-second snapshots, about 0.006 per request:')
print(' they follow run time, not requests; over TLS=1 rustls adds its own per record, counted in all)')
"
