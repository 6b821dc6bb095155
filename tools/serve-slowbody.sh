#!/usr/bin/env bash
# `blast serve` under slow bodies (issue 18, acceptance 4): SLOW callers
# each send `POST /benchmark` with `Content-Length: 1000000` and then one
# byte every INTERVAL seconds, and open a new connection REOPEN seconds
# after the server lets one go, for DURATION seconds. Meanwhile a second
# process times `GET /benchmarks` every PROBE_MS (each must be answered,
# 200 or 503, within 1 s; the share of 200s is shown),
# and the server's VmRSS, VmHWM and open fds are read from /proc every
# second. After the callers go, RSS and fds once more. Prints a Markdown
# table of what was measured and the caller's tally (503s, 408s, closes).
#
#   tools/serve-slowbody.sh                         # SLOW=10000 DURATION=40
#   SLOW=2000 DURATION=20 BLAST=target/debug/blast tools/serve-slowbody.sh
#   SERVE_FLAGS="--max-api-connections 256" tools/serve-slowbody.sh
#   REOPEN=1000 tools/serve-slowbody.sh             # callers never come back
#
# The callers need SLOW + 100 open files: the script raises `ulimit -n` to
# the hard limit and stops if that is not enough. Everything is on
# 127.0.0.1; the server's data dir is a scratch directory.
#
# Env: SLOW DURATION INTERVAL REOPEN PROBE_MS SERVE_FLAGS BLAST
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SLOW=${SLOW:-10000}
DURATION=${DURATION:-40}
INTERVAL=${INTERVAL:-5}
REOPEN=${REOPEN:-5}
PROBE_MS=${PROBE_MS:-250}
SERVE_FLAGS=${SERVE_FLAGS:-}

need_blast
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= SLOW + 100)) ||
    die "SLOW=$SLOW needs $((SLOW + 100)) open files; the hard limit is $(ulimit -Hn)"

# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
"$BLAST" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" $SERVE_FLAGS \
    >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
kill_on_exit "$serve_pid"
for _ in $(seq 100); do
    [[ -s $tmp/serve.out ]] && break
    sleep 0.1
done
addr=$(head -1 "$tmp/serve.out")
addr=${addr#http://}
[[ -n $addr ]] || { cat "$tmp/serve.err" >&2; die "blast serve did not start"; }

cat >"$tmp/callers.py" <<'EOF'
# SLOW slow-body callers on one asyncio loop; prints their tally as JSON.
import asyncio, json, sys, time

host, port = sys.argv[1].rsplit(":", 1)
n, duration, interval, reopen = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
head = (f"POST /benchmark HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 1000000\r\n\r\n{{").encode()
tally = {"connections": 0, "open_peak": 0, "answered": {}, "closed_without_answer": 0, "connect_errors": 0}
open_now = 0

async def caller(deadline):
    global open_now
    while time.monotonic() < deadline:
        try:
            r, w = await asyncio.open_connection(host, int(port))
        except OSError:
            tally["connect_errors"] += 1
            await asyncio.sleep(min(reopen, max(0.0, deadline - time.monotonic())))
            continue
        tally["connections"] += 1
        open_now += 1
        tally["open_peak"] = max(tally["open_peak"], open_now)
        try:
            w.write(head)
            await w.drain()
            while time.monotonic() < deadline:
                try:
                    data = await asyncio.wait_for(r.read(4096), timeout=interval)
                except asyncio.TimeoutError:
                    w.write(b" ")
                    await w.drain()
                    continue
                if data.startswith(b"HTTP/1.1 "):
                    code = data[9:12].decode()
                    tally["answered"][code] = tally["answered"].get(code, 0) + 1
                else:
                    tally["closed_without_answer"] += 1
                break
        except OSError:
            tally["closed_without_answer"] += 1
        finally:
            open_now -= 1
            w.close()
        await asyncio.sleep(min(reopen, max(0.0, deadline - time.monotonic())))

async def main():
    deadline = time.monotonic() + duration
    async def report():
        while time.monotonic() < deadline:
            await asyncio.sleep(5)
            print(f"callers: {open_now} open, {tally}", file=sys.stderr, flush=True)
    tasks = [asyncio.create_task(caller(deadline)) for _ in range(n)]
    await asyncio.gather(report(), *tasks)
    print(json.dumps(tally))

asyncio.run(main())
EOF

cat >"$tmp/probe.py" <<'EOF'
# Times GET /benchmarks every PROBE_MS and samples the server's /proc; JSON.
import json, os, socket, sys, time

addr, pid = sys.argv[1], sys.argv[2]
duration, every = float(sys.argv[3]), float(sys.argv[4]) / 1000
host, port = addr.rsplit(":", 1)

def proc():
    st = open(f"/proc/{pid}/status").read().split("\n")
    kib = lambda k: int(next(l.split()[1] for l in st if l.startswith(k)))
    return kib("VmRSS:"), kib("VmHWM:"), len(os.listdir(f"/proc/{pid}/fd"))

def get():
    t = time.monotonic()
    try:
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(f"GET /benchmarks HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        return time.monotonic() - t, data[9:12].decode() or "none"
    except OSError as e:
        return time.monotonic() - t, type(e).__name__

lat, statuses, rss, fds = [], {}, [], []
end = time.monotonic() + duration
last = 0.0
while time.monotonic() < end:
    took, status = get()
    lat.append(took)
    statuses[status] = statuses.get(status, 0) + 1
    if time.monotonic() - last >= 1:
        last = time.monotonic()
        r, h, f = proc()
        rss.append(r); fds.append(f)
    time.sleep(max(0.0, every - took))
lat.sort()
r, h, f = proc()
print(json.dumps({"gets": len(lat), "statuses": statuses, "p50_ms": 1000 * lat[len(lat) // 2],
                  "max_ms": 1000 * lat[-1], "rss_peak_kib": max(rss), "hwm_kib": h, "fds_peak": max(fds)}))
EOF

# The server's VmRSS or VmHWM (KiB), and its open fds.
vm() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$serve_pid/status"; }
fds() { find "/proc/$serve_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss0=$(vm VmRSS)
fds0=$(fds)
echo "$me: blast serve on $addr (pid $serve_pid): RSS $rss0 KiB, $fds0 fds; $SLOW slow callers for ${DURATION}s" >&2
python3 "$tmp/callers.py" "$addr" "$SLOW" "$DURATION" "$INTERVAL" "$REOPEN" >"$tmp/callers.json" &
callers_pid=$!
kill_on_exit "$callers_pid"
sleep 1
python3 "$tmp/probe.py" "$addr" "$serve_pid" "$((DURATION - 2))" "$PROBE_MS" >"$tmp/probe.json"
wait "$callers_pid"
sleep 3
rss1=$(vm VmRSS)
hwm1=$(vm VmHWM)
fds1=$(fds)

python3 - "$tmp/probe.json" "$tmp/callers.json" "$rss0" "$fds0" "$rss1" "$hwm1" "$fds1" <<'EOF'
import json, sys
p, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rss0, fds0, rss1, hwm1, fds1 = map(int, sys.argv[3:8])
mb = lambda k: f"{k / 1024:.1f} MB"
print("| measure | value |\n|---|---|")
print(f"| GET /benchmarks during the load | {p['gets']} calls, statuses {p['statuses']}, p50 {p['p50_ms']:.1f} ms, max {p['max_ms']:.1f} ms |")
print(f"| server RSS: start / peak during / after (high-water) | {mb(rss0)} / {mb(p['rss_peak_kib'])} / {mb(rss1)} ({mb(hwm1)}) |")
print(f"| server open fds: start / peak during / after | {fds0} / {p['fds_peak']} / {fds1} |")
print(f"| slow callers: connections made, most open at once | {c['connections']}, {c['open_peak']} |")
print(f"| answers the callers got | {c['answered']}, closed without one {c['closed_without_answer']}, connect errors {c['connect_errors']} |")
# A 503 (with Retry-After) is an answer: the cap is doing its job; the share
# of 200s is printed beside it.
answered = set(p["statuses"]) <= {"200", "503"}
ok = answered and p["max_ms"] < 1000 and hwm1 < 300 * 1024
got = p["statuses"].get("200", 0)
print(f"\n{'PASS' if ok else 'FAIL'}: every GET answered within 1 s ({got} of {p['gets']} with 200, "
      f"the rest 503), high-water RSS under 300 MB")
sys.exit(0 if ok else 1)
EOF
