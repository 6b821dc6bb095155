#!/usr/bin/env bash
# Lists the import cycles among the files of src/ (each as
# `a.rs -> b.rs -> a.rs`, then where each import inside a cycle is written),
# or passes quietly when there is none. It runs exactly the test that
# guards this, tests/layout (layout::no_import_cycles), so the script and CI
# can never disagree. Usage: tools/import-cycles.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --quiet --test blast -- --exact layout::no_import_cycles
