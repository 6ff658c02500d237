#!/usr/bin/env bash
# run.sh - deny-glob expansion benchmark (not part of `bazel test`).
#
# Builds bench_glob (optimised), creates a 100,000-file tree in a temporary
# directory, then times median-of-N runs of csb_glob_expand on ROOT/**/*.env
# against `find ROOT -name '*.env'`, `find ROOT -path 'ROOT/*.env'` and
# `find ROOT -print0` filtered through the glob matcher (a find-based
# implementation of full glob expansion), and prints the medians (wall and
# CPU) and the ratios. Every variant must find the same paths.
#
# Environment:
#   RUNS=15          runs per variant (round-robin)
#   NFILES=100000    files in the generated tree
#   BENCH_BIN=path   use this bench_glob binary instead of building one
#   BAZEL=bazel      Bazel command (e.g. "bazel --output_base=/tmp/ob")
#   KEEP_TREE=1      keep the generated tree
set -euo pipefail

RUNS=${RUNS:-15}
NFILES=${NFILES:-100000}
BAZEL=${BAZEL:-bazel}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/csb-bench-glob.XXXXXX")
cleanup() {
  if [ "${KEEP_TREE:-0}" = 1 ]; then
    echo "tree kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

bin=${BENCH_BIN:-}
if [ -z "$bin" ]; then
  if command -v ${BAZEL%% *} >/dev/null 2>&1 &&
     (cd "$repo" && $BAZEL build -c opt //tests/bench/glob:bench_glob >&2); then
    bin="$(cd "$repo" && $BAZEL info -c opt bazel-bin 2>/dev/null)/tests/bench/glob/bench_glob"
  else
    echo "run.sh: building bench_glob with ${CC:-cc}" >&2
    bin="$tmp/bench_glob"
    ${CC:-cc} -std=c17 -O2 -pthread -I"$repo/libs/base" -I"$repo/libs/paths" \
      "$repo/tests/bench/glob/bench_glob.c" "$repo"/libs/paths/*.c \
      "$repo/libs/base/base.c" -o "$bin"
  fi
fi

echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(find --version | head -1)"
"$bin" mktree "$tmp/tree" "$NFILES"
"$bin" compare --runs "$RUNS" "$tmp/tree"
