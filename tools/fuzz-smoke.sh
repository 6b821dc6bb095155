#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each for a short while
# (20 s, FUZZ_SECONDS to change) from its committed corpus, after replaying
# the inputs under fuzz/regressions/TARGET/ (each a crash once found). Fails
# on the first crash, hang (-timeout=10) or allocation over the limits
# (-rss_limit_mb=2048, -malloc_limit_mb=512); the input that did it is left in
# fuzz/artifacts/TARGET/. CI runs it (.ci/run); docs/fuzzing.md.
#
#   tools/fuzz-smoke.sh [TARGET...]      (default: every target)
#
# FUZZ_JOBS=N runs N targets at once (default 1). FUZZ_LOGS=DIR writes each
# target's libFuzzer output to DIR/TARGET.log instead of the terminal.
# FUZZ_GROW=1 adds what the runs find to fuzz/corpus/ (tools/fuzz-long.sh);
# otherwise they work on a copy and the committed corpus stays as it is.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

secs=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-1}
logs=${FUZZ_LOGS:-}
grow=${FUZZ_GROW:-0}
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
# libFuzzer's instrumentation needs nightly flags: the nightly toolchain
# where rustup has one, else the stable compiler told to allow them.
if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi

started=$SECONDS
"${fuzz[@]}" build
echo "$me: built the fuzz targets in $((SECONDS - started)) s"

targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <("${fuzz[@]}" list)
fi
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512)

# One target: its regressions once each, then $secs seconds of fuzzing.
fuzz_one() {
    local t=$1 dir
    if [[ -d regressions/$t ]] && compgen -G "regressions/$t/*" >/dev/null; then
        "${fuzz[@]}" run "$t" regressions/"$t"/* -- "${limits[@]}" -runs=0 ||
            { echo "$me: $t: a regression input fails again" >&2; return 1; }
    fi
    mkdir -p "corpus/$t"
    if [[ $grow == 1 ]]; then
        dir=corpus/$t
        set -- "$dir"
    else
        dir=$tmp/corpus/$t
        mkdir -p "$dir"
        set -- "$dir" "corpus/$t"
    fi
    "${fuzz[@]}" run "$t" "$@" -- "${limits[@]}" -max_total_time="$secs" -print_final_stats=1 ||
        { echo "$me: $t failed: its input is in fuzz/artifacts/$t/" >&2; return 1; }
}

failed=()
running=()
for t in "${targets[@]}"; do
    while ((${#running[@]} >= jobs)); do
        # Wait for the oldest run, then check how it ended.
        oldest_pid=${running[0]%%:*}
        oldest_t=${running[0]#*:}
        running=("${running[@]:1}")
        wait "$oldest_pid" || failed+=("$oldest_t")
    done
    if [[ -n $logs ]]; then
        mkdir -p "$logs"
        fuzz_one "$t" >"$logs/$t.log" 2>&1 &
    else
        fuzz_one "$t" &
    fi
    kill_on_exit $!
    running+=("$!:$t")
done
for r in "${running[@]}"; do
    wait "${r%%:*}" || failed+=("${r#*:}")
done

echo "$me: ${#targets[@]} targets, $secs s each, $((SECONDS - started)) s in all"
if ((${#failed[@]})); then
    die "failed: ${failed[*]} (inputs in fuzz/artifacts/)"
fi
