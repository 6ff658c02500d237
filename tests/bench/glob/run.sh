#!/usr/bin/env bash
# run.sh - deny-glob expansion benchmark (not part of `bazel test`).
#
# Builds bench_glob (optimised), creates a 100,000-file tree in a temporary
# directory, then times median-of-N runs (round-robin, after a warm-up
# round) of csb expanding ROOT/**/*.env against its find-based equivalents,
# `find ROOT -name '*.env'` and `find ROOT -path 'ROOT/*.env'`, and against
# the listing floor (reading every directory and nothing else), and csb with
# its expansion cache (as csb-bwrap uses it): cold (the cache written),
# warm (nothing changed) and warm after one directory changed. Prints wall
# and CPU medians and the ratios; every variant must find the same paths.
# bench_glob is static and musl-linked, like the shipped csb binaries.
# With strace installed it also counts the system calls of one csb process
# and one find. On a shared machine trust CPU time over wall time.
#
# Environment:
#   RUNS=15          runs per variant (round-robin)
#   NFILES=100000    files in the generated tree
#   BENCH_BIN=path   use this bench_glob binary instead of building one
#   BAZEL=bazel      Bazel command (e.g. "bazel --output_base=/tmp/ob")
#   KEEP_TREE=1      keep the generated tree
#   STRACE=0         skip the system call counts
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
      "$repo/tests/bench/glob/bench_glob.c" "$repo"/libs/paths/{glob,glob_cache,glob_expand,paths,spath,winpath,winpath_fs}.c \
      "$repo"/libs/base/*.c -o "$bin"
  fi
fi

echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(find --version | head -1)"
"$bin" mktree "$tmp/tree" "$NFILES"
"$bin" compare --runs "$RUNS" "$tmp/tree"
echo "load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

# System calls of one run of each (strace -c totals: calls, errors).
if [ "${STRACE:-1}" != 0 ] && command -v strace >/dev/null 2>&1; then
  count() {
    strace -f -c -o "$tmp/strace.txt" "$@" >/dev/null 2>&1 &&
      awk '$NF == "total" { print $4 " calls, " (NF == 6 ? $5 : 0) " failed" }' \
        "$tmp/strace.txt"
  }
  echo
  echo "system calls of one run:"
  echo "  csb, 1 thread:   $(count "$bin" expand --runs 0 --threads 1 --print "$tmp/tree/**/*.env")"
  echo "  find -name:      $(count find "$tmp/tree" -name '*.env')"
fi
