#!/usr/bin/env bash
# Counts allocator calls and instructions per request on the hot path with
# valgrind's callgrind (instruction counts are repeatable on a noisy machine).
# Runs blast -n N and -n 2N against the built-in target; whatever grows with
# the extra N requests is per-request cost. Allocations per extra request
# must be 0. Usage: tools/hotpath-allocs.sh [N] [engine]
set -euo pipefail
N=${1:-5000}
ENGINE=${2:-epoll}
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build --release --quiet)
BLAST=$root/target/release/blast
command -v valgrind >/dev/null || { echo "hotpath-allocs.sh: needs valgrind" >&2; exit 1; }
tmp=$(mktemp -d)
target_pid=
cleanup() { [[ -n $target_pid ]] && kill "$target_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$BLAST" target --listen 127.0.0.1:0 --threads 1 > "$tmp/target.out" &
target_pid=$!
for _ in $(seq 50); do grep -q listening "$tmp/target.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$tmp/target.out")

measure() { # $1 = requests; prints "allocs instructions"
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" --dump-instr=no \
        "$BLAST" -n "$1" -c 4 -t 1 --engine "$ENGINE" --json "$url" > /dev/null 2> "$tmp/vg.$1"
    python3 - "$tmp/cg.$1" <<'PY'
import re, sys
names, allocs, cfn, total = {}, 0, None, 0
for line in open(sys.argv[1]):
    m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?', line)
    if m:
        if m.group(3): names[m.group(2)] = m.group(3)
        if m.group(1) == 'cfn': cfn = names.get(m.group(2), '')
        continue
    m = re.match(r'calls=(\d+)', line)
    if m and cfn is not None:
        # Entry points of the allocators: mimalloc (Rust's global allocator;
        # __rust_alloc is inlined by LTO) and libc's, for anything in C.
        if re.fullmatch(r'mi_(malloc|zalloc|calloc|realloc)(_aligned)?|malloc|calloc|realloc', cfn):
            allocs += int(m.group(1))
        cfn = None
    m = re.match(r'summary: (\d+)', line) or re.match(r'totals: (\d+)', line)
    if m: total = int(m.group(1))
print(allocs, total)
PY
}
read -r a1 i1 < <(measure "$N")
read -r a2 i2 < <(measure $((2 * N)))
echo "engine $ENGINE, callgrind, blast -c 4 -t 1 against blast target"
printf '%-10s %12s %16s\n' requests allocations instructions
printf '%-10s %12s %16s\n' "$N" "$a1" "$i1" $((2 * N)) "$a2" "$i2"
python3 -c "
n=$N; da=$a2-$a1; di=$i2-$i1
print(f'per extra request: {da/n:.4f} allocations, {di/n:.0f} instructions (user space)')
"
