#!/usr/bin/env bash
# Client CPU when the server is the bottleneck (issue 19, acceptance 4):
# blast with each engine and wrk, -c 16, one client thread on CLIENT_CPU,
# against a FastAPI app on uvicorn (one worker, TARGET_CPU; POST /predict
# with a little numpy work, about 2,000 req/s on one core) and, for
# contrast, against `blast target --delay 2ms`. Prints a Markdown table of
# medians over rounds: req/s, client CPU us per request, voluntary context
# switches (= wake-ups) per request, and from a separate perf stat run of
# each client: system calls, reads, read attempts that found nothing,
# io_uring_enter and epoll_wait per request. See tools/README.md.
#
#   tools/server-bound.sh
#   ENGINES="uring epoll batch" ROUNDS=5 tools/server-bound.sh
#   TARGETS=fastapi DURATION=5 tools/server-bound.sh
#
# The venv (fastapi, uvicorn, numpy from PyPI) is made at
# target/serverbound when missing.
#
# Env: ENGINES (uring epoll) TARGETS (fastapi delay) CONNS (16) ROUNDS (3)
#      DURATION (seconds, 4) SHORT (seconds, 1) PERF_S (seconds, 2) STEPS (24) TARGET_CPU (1)
#      CLIENT_CPU (0) VENV BLAST WRK
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ENGINES=${ENGINES:-uring epoll}
TARGETS=${TARGETS:-fastapi delay}
CONNS=${CONNS:-16}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4}
SHORT=${SHORT:-1}
PERF_S=${PERF_S:-2}
STEPS=${STEPS:-24}
TARGET_CPU=${TARGET_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
VENV=${VENV:-$root/target/serverbound}
WRK=${WRK:-wrk}
BODY='{"features":[0.12,0.5,-0.33,1.7,0.0,-2.1,0.9,0.25,0.61,-0.8,1.1,0.05,-0.4,0.77,0.3,-1.2]}'

for t in $TARGETS; do
    [[ $t == fastapi || $t == delay ]] || die "TARGETS: $t is not fastapi or delay"
done
need_blast
command -v "$WRK" >/dev/null || die "wrk not found"
command -v perf >/dev/null || die "perf not found (linux-perf)"
if ! perf stat -x, -o "$tmp/probe" -e raw_syscalls:sys_enter -- true 2>/dev/null ||
    ! grep -q '^[0-9]' "$tmp/probe"; then
    die "perf cannot count raw_syscalls:sys_enter here (run as root, or lower kernel.perf_event_paranoid)"
fi

if [[ " $TARGETS " == *" fastapi "* ]] &&
    ! "$VENV/bin/python" -c 'import fastapi, uvicorn, numpy' 2>/dev/null; then
    echo "$me: making $VENV (fastapi, uvicorn, numpy from PyPI)" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q fastapi uvicorn numpy ||
        { rm -rf "$VENV"; die "pip install fastapi uvicorn numpy failed"; }
fi

# The app: FastAPI's usual shape (a pydantic model in, JSON out) with STEPS
# steps of a 256x256 matrix-vector product, about 8 us each, on top of
# FastAPI's own ~300 us per request: about 500 us of CPU, 2,000 req/s.
cat >"$tmp/app.py" <<'EOF'
import os

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

STEPS = int(os.environ["STEPS"])
W = np.random.default_rng(1).standard_normal((256, 256)) / 16
app = FastAPI()


class Features(BaseModel):
    features: list[float]


@app.post("/predict")
async def predict(x: Features):
    v = np.resize(np.asarray(x.features, dtype=float), 256)
    for _ in range(STEPS):
        v = np.tanh(W @ v)
    return {"label": int(np.argmax(v)), "score": float(v.max())}
EOF
cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
EOF

# start_case TARGET: starts it on TARGET_CPU; sets $url and $target_pid.
start_case() {
    case $1 in
    fastapi)
        local port
        port=$(free_port)
        target_logs+=("$tmp/uvicorn.out")
        (cd "$tmp" && STEPS=$STEPS OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 exec taskset -c "$TARGET_CPU" \
            "$VENV/bin/python" -m uvicorn app:app --host 127.0.0.1 --port "$port" --workers 1 \
            --no-access-log --log-level warning --timeout-graceful-shutdown 1) >"$tmp/uvicorn.out" 2>&1 &
        target_pid=$!
        kill_on_exit "$target_pid"
        wait_port "$port"
        url=http://127.0.0.1:$port/predict
        curl -fsS -X POST -H 'Content-Type: application/json' -d "$BODY" "$url" >"$tmp/answer" ||
            target_failed "POST /predict failed:"
        ;;
    delay)
        start_target url --cpus "$TARGET_CPU" --threads 1 --cpus "$TARGET_CPU" --delay 2ms
        url=$url/predict
        ;;
    esac
}

describe_case() {
    case $1 in
    fastapi) echo "FastAPI $("$VENV/bin/python" -c 'import fastapi; print(fastapi.__version__)') on uvicorn $("$VENV/bin/python" -c 'import uvicorn; print(uvicorn.__version__)') (one worker, asyncio + h11), numpy $("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)'), POST /predict with STEPS=$STEPS; it answers \`$(cat "$tmp/answer")\`" ;;
    delay) echo "\`blast target --threads 1 --delay 2ms\`" ;;
    esac
}

# client_cmd CLIENT SECONDS: sets the array cmd to that client's command.
client_cmd() {
    case $1 in
    wrk) cmd=("$WRK" -c "$CONNS" -t 1 -d "${2}s" -s "$tmp/post.lua" "$url") ;;
    *) cmd=("$BLAST" -c "$CONNS" -t 1 -d "${2}s" --engine "$1" --json -X POST
        -H "Content-Type: application/json" -b "$BODY" "$url") ;;
    esac
}

# "requests errors" from a client's output.
parse_out() {
    if [[ $1 == wrk ]]; then
        awk '/ requests in / { r = $1 } /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
             /Non-2xx or 3xx/ { e += $NF } END { print r, e + 0 }' "$2"
    else
        python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["requests"], sum(j["errors"].values()) + sum(v for k, v in j["status_codes"].items() if not k.startswith("2")))' "$2"
    fi
}

# CPU ticks (user+sys) of the target and its children so far.
target_ticks() {
    local sum=0 p
    for p in $target_pid $(pgrep -P "$target_pid" || true); do
        [[ -r /proc/$p/stat ]] || continue
        sum=$((sum + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
    done
    echo "$sum"
}
hz=$(getconf CLK_TCK)

# What perf counts in the separate run: every system call, the ones that
# matter here by name, read attempts that found nothing (EAGAIN, -11) and,
# for io_uring, the reads submitted (IORING_OP_READ 22, RECV 27) and the
# reads that found nothing and armed a poll.
events=(-e raw_syscalls:sys_enter -e context-switches)
for s in io_uring_enter epoll_wait epoll_pwait epoll_ctl read recvfrom write writev sendto futex; do
    events+=(-e "syscalls:sys_enter_$s")
done
events+=(-e syscalls:sys_exit_read --filter 'ret == -11' -e syscalls:sys_exit_recvfrom --filter 'ret == -11')
events+=(-e io_uring:io_uring_submit_req --filter 'opcode == 22 || opcode == 27' -e io_uring:io_uring_poll_arm)

# measure CLIENT SECONDS: runs it on CLIENT_CPU under perf stat and sets
# req, cpu_ms (task-clock: user+sys of all its threads), vol (voluntary
# context switches: the thread went to sleep, so one wake-up each) and all
# (every context switch).
measure() {
    client_cmd "$1" "$2"
    taskset -c "$CLIENT_CPU" perf stat -x, -o "$tmp/stat" -e task-clock -e context-switches \
        -e sched:sched_switch --filter 'prev_state == 1' -- "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" ||
        { echo "$me: $1 failed:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
    local err
    read -r req err < <(parse_out "$1" "$tmp/out")
    [[ -n ${req:-} && $req -gt 0 ]] || { echo "$me: no requests from $1:" >&2; cat "$tmp/out" >&2; exit 1; }
    ((err == 0)) || { echo "$me: $1 had $err errors against $url:" >&2; cat "$tmp/out" >&2; exit 1; }
    read -r cpu_ms all vol < <(awk -F, '/task-clock/ { t = $1 } /,context-switches,/ { a = $1 }
        /sched:sched_switch/ { v = $1 } END { print t, a, v }' "$tmp/stat")
}

clients=()
for e in $ENGINES; do clients+=("$e"); done
clients+=(wrk)
n=${#clients[@]}
: >"$tmp/results"
: >"$tmp/perf_results"
for t in $TARGETS; do
    start_case "$t"
    echo "$t $(describe_case "$t")" >>"$tmp/cases"
    echo "$me: $t, $url, $ROUNDS rounds of ${DURATION}s, -c $CONNS, clients: ${clients[*]}" >&2
    # A short warm-up, so the first client measured does not pay for the app's first requests.
    client_cmd wrk 1
    taskset -c "$CLIENT_CPU" "${cmd[@]}" >/dev/null
    for round in $(seq "$ROUNDS"); do
        for i in $(seq 0 $((n - 1))); do
            c=${clients[$(((i + round - 1) % n))]}
            # A short run and a long one: what the long one costs beyond the
            # short one, per request beyond its requests, is the steady cost
            # per request, without the run's fixed cost (start, exit).
            for secs in "$SHORT" "$DURATION"; do
                t0=$(target_ticks)
                measure "$c" "$secs"
                t1=$(target_ticks)
                echo "$t $round $c $secs $req $cpu_ms $vol $all $((t1 - t0)) $hz" >>"$tmp/results"
            done
            python3 -c '
import sys
t, r, c, secs, req, ms, vol = sys.argv[1:8]
req = int(req)
print(f"  {t:8} round {r} {c:6} {req / float(secs):8.0f} req/s  {float(ms) * 1e3 / req:6.1f} us CPU/req  {int(vol) / req:5.2f} wake-ups/req", file=sys.stderr)' \
                "$t" "$round" "$c" "$DURATION" "$req" "$cpu_ms" "$vol"
        done
    done
    for c in "${clients[@]}"; do
        client_cmd "$c" "$PERF_S"
        taskset -c "$CLIENT_CPU" perf stat -x, -o "$tmp/perf" "${events[@]}" -- "${cmd[@]}" \
            >"$tmp/out" 2>"$tmp/err" || { echo "$me: $c failed under perf:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
        read -r req _ < <(parse_out "$c" "$tmp/out")
        python3 - "$t" "$c" "$req" "$tmp/perf" >>"$tmp/perf_results" <<'EOF'
import sys
t, c, req = sys.argv[1], sys.argv[2], int(sys.argv[3])
counts, seen = {}, {}
for line in open(sys.argv[4]):
    f = line.strip().split(",")
    if len(f) < 3 or not f[0].isdigit():
        continue
    ev = f[2]
    # The same event twice (sys_exit_read with its filter): count both apart.
    k = ev + "#" + str(seen.get(ev, 0))
    seen[ev] = seen.get(ev, 0) + 1
    counts[k] = int(f[0])
g = lambda e: counts.get(e + "#0", 0)
reads = g("syscalls:sys_enter_read") + g("syscalls:sys_enter_recvfrom") + g("io_uring:io_uring_submit_req")
empty = g("syscalls:sys_exit_read") + g("syscalls:sys_exit_recvfrom") + g("io_uring:io_uring_poll_arm")
waits = g("syscalls:sys_enter_epoll_wait") + g("syscalls:sys_enter_epoll_pwait")
print(t, c, req, g("raw_syscalls:sys_enter"), reads, empty, g("syscalls:sys_enter_io_uring_enter"), waits,
      g("syscalls:sys_enter_epoll_ctl"), g("syscalls:sys_enter_write") + g("syscalls:sys_enter_writev") + g("syscalls:sys_enter_sendto"),
      g("syscalls:sys_enter_futex"), g("context-switches"))
EOF
        echo "  perf $t $c: $(tail -1 "$tmp/perf_results")" >&2
    done
    kill "$target_pid" 2>/dev/null || true
    wait "$target_pid" 2>/dev/null || true
done

cat <<EOF

### When the server is the bottleneck: client CPU per request, -c $CONNS, one client thread

- machine: $(machine); load before the table: $(uptime | sed 's/.*load average/load average/')
- targets on CPU $TARGET_CPU, clients on CPU $CLIENT_CPU (taskset); $ROUNDS rounds per target, each client in turn (order rotating each round) runs ${SHORT}s then ${DURATION}s; medians
EOF
while read -r t desc; do echo "- $t: $desc"; done <"$tmp/cases"
cat <<EOF
- blast: \`$(url=URL; client_cmd "${clients[0]}" "$DURATION"; printf '%q ' "${cmd[@]}" | sed "s|$root/||; s| \$||")\` for each engine in ENGINES="$ENGINES"
- wrk: \`$(url=URL; client_cmd wrk "$DURATION"; echo "${cmd[@]/#"$tmp"\//}")\` (post.lua: wrk.method = "POST", the same body, Content-Type: application/json)
- CPU: the client's task-clock (user+sys, all threads) from perf stat; per request over the ${DURATION}s run, and steady: (CPU of the ${DURATION}s run - CPU of the ${SHORT}s run) / (their difference in requests), which leaves out the fixed cost of a run (start-up, exit); fixed: the ${SHORT}s run's CPU less its requests at the steady cost
- wake-ups: voluntary context switches (perf stat, sched:sched_switch with prev_state == 1): each is a sleep that ended in a wake-up
- per response, from a separate ${PERF_S}s run under \`perf stat\`: system calls (raw_syscalls:sys_enter); reads (read + recvfrom, or io_uring READ/RECV submitted), of them empty (EAGAIN, or io_uring armed a poll); io_uring_enter; epoll_wait
- script: ENGINES="$ENGINES" TARGETS="$TARGETS" CONNS=$CONNS ROUNDS=$ROUNDS DURATION=$DURATION SHORT=$SHORT STEPS=$STEPS tools/server-bound.sh

EOF
python3 - "$tmp/results" "$tmp/perf_results" "$DURATION" "$SHORT" "${clients[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
perf = {(l.split()[0], l.split()[1]): [int(x) for x in l.split()[2:]] for l in open(sys.argv[2])}
long_s, short_s, clients = sys.argv[3], sys.argv[4], sys.argv[5:]
targets = list(dict.fromkeys(r[0] for r in rows))
# (target, client, round) -> {seconds: (requests, cpu_ms, voluntary switches, target ticks, hz)}
run = {}
for t, rnd, c, secs, req, ms, vol, _all, ticks, hz in rows:
    run.setdefault((t, c, rnd), {})[secs] = (int(req), float(ms), int(vol), int(ticks), int(hz))
med = statistics.median
print("| target | client | req/s | client CPU us/req | of wrk's, same round | steady us/req | of wrk's, same round | fixed ms | wake-ups/req | syscalls/req | reads/resp | empty reads/resp | io_uring_enter/req | epoll_wait/req | target CPU us/req |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for t in targets:
    per, steady, fixed = {}, {}, {}
    for (tt, c, rnd), v in run.items():
        if tt != t:
            continue
        (rl, ml, _, _, _), (rs, ms, _, _, _) = v[long_s], v[short_s]
        per[(c, rnd)] = ml * 1e3 / rl
        st = (ml - ms) * 1e3 / max(rl - rs, 1)
        steady[(c, rnd)] = st
        fixed[(c, rnd)] = ms - rs * st / 1e3
    for c in clients:
        rnds = [k[2] for k in run if k[0] == t and k[1] == c]
        L = [run[(t, c, r)][long_s] for r in rnds]
        def ratio(d):
            rs = [d[(c, r)] / d[("wrk", r)] for r in rnds if ("wrk", r) in d]
            return f"{med(rs):.2f}x" if rs else ""
        p = perf.get((t, c))
        if p:
            req, sc, reads, empty, enter, waits = p[:6]
            pc = [f"{x / req:.2f}" for x in (sc, reads, empty, enter, waits)]
        else:
            pc = [""] * 5
        cells = [t, c if c == "wrk" else f"blast {c}",
                 f"{med(x[0] / float(long_s) for x in L):,.0f}",
                 f"{med(per[(c, r)] for r in rnds):.1f}", ratio(per),
                 f"{med(steady[(c, r)] for r in rnds):.1f}", ratio(steady),
                 f"{med(fixed[(c, r)] for r in rnds):.1f}",
                 f"{med(x[2] / x[0] for x in L):.2f}"] + pc + [
                 f"{med(x[3] / x[4] * 1e6 / x[0] for x in L):.0f}"]
        print("| " + " | ".join(cells) + " |")
EOF
