#!/bin/bash
# Differential check: runs the csb-bwrap behaviour cases under Codex's
# `codex sandbox` with equivalent [permissions] profiles and compares with
# the list of deliberate differences. Not part of `bazel test` (it needs the
# npm package @openai/codex, pinned in tests/peers); `./dev.sh test` runs it
# after `bazel test //...` with --require, so CI fails when codex is missing.
#
# usage: tests/bwrap/differential/run.sh [--require] [CODEX]
#   CODEX defaults to $CODEX, then codex on PATH, then the peers installed by
#   `./dev.sh setup` ($CSB_PEERS_DIR, default ~/.cache/csb/peers), then
#   ./node_modules and ~/node_modules. Without --require (and outside CI) a
#   missing codex skips the check.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
require=0
[ "${CI:-}" = true ] && require=1
if [ "${1:-}" = "--require" ]; then require=1; shift; fi
codex="${1:-${CODEX:-}}"
if [ -z "$codex" ]; then
  peers="${CSB_PEERS_DIR:-$HOME/.cache/csb/peers}"
  for c in "$(command -v codex 2>/dev/null)" "$peers/node_modules/.bin/codex" \
           "$here/../../../node_modules/.bin/codex" "$HOME/node_modules/.bin/codex"; do
    if [ -n "$c" ] && [ -x "$c" ]; then codex="$c"; break; fi
  done
fi
if [ -z "$codex" ] || ! "$codex" --version >/dev/null 2>&1; then
  if [ "$require" = 1 ]; then
    echo "differential check: error: codex not found or not runnable (${codex:-no candidate}); ./dev.sh setup installs it" >&2
    exit 1
  fi
  echo "codex is not installed (./dev.sh setup, or npm i @openai/codex); differential check skipped"
  exit 0
fi
echo "codex: $("$codex" --version)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
/usr/bin/python3 "$here/../behaviour_test.py" --codex "$codex" > "$out" 2>&1
pyrc=$?
grep -E '^(PASS|FAIL|SKIP)' "$out" | sed 's/^PASS codex \([a-z0-9_]*\).*/agree      \1/; s/^FAIL codex \([a-z0-9_]*\).*/differ     \1/; s/^SKIP codex \([a-z0-9_]*\): \(.*\)/n\/a        \1 (\2)/'
expected="$(grep -v '^#' "$here/expected_differences.txt" | sed 's/ *#.*//' | sort)"
actual="$(grep '^FAIL codex ' "$out" | awk '{print $3}' | tr -d ':' | sort)"
agree=$(grep -c '^PASS codex ' "$out"); differ=$(grep -c '^FAIL codex ' "$out"); na=$(grep -c '^SKIP codex ' "$out")
echo
echo "agree: $agree, differ: $differ (all deliberate unless listed below), not comparable: $na"
unexpected="$(comm -13 <(echo "$expected") <(echo "$actual"))"
stale="$(comm -23 <(echo "$expected") <(echo "$actual"))"
rc=0
if [ "$agree" = 0 ]; then echo "no case agrees: codex did not run the cases (behaviour_test.py exited $pyrc):"; tail -n 20 "$out"; rc=1; fi
if [ -n "$unexpected" ]; then echo "unexpected differences:"; echo "$unexpected"; grep -F -f <(echo "$unexpected") "$out" | grep '^FAIL'; rc=1; fi
if [ -n "$stale" ]; then echo "listed differences that now agree (update expected_differences.txt):"; echo "$stale"; rc=1; fi
[ $rc = 0 ] && echo "differential: $agree passed, 0 failed"
exit $rc
