#!/usr/bin/env bash
# The long fuzzing runs (docs/fuzzing.md): every target (or those named)
# for 10 minutes, two at a time, each logging to FUZZ_LOGS/TARGET.log
# (default fuzz/logs/), adding what it finds to fuzz/corpus/TARGET/.
# Afterwards `cargo +nightly fuzz cmin TARGET` keeps the corpus small.
#
#   tools/fuzz-long.sh [TARGET...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export FUZZ_SECONDS=${FUZZ_SECONDS:-600}
export FUZZ_JOBS=${FUZZ_JOBS:-2}
export FUZZ_LOGS=${FUZZ_LOGS:-$here/../fuzz/logs}
export FUZZ_GROW=1
exec "$here/fuzz-smoke.sh" "$@"
