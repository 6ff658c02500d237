#!/usr/bin/env bash
# The command-line contract every shipped tool keeps (docs/exit-codes.md):
#   --help          exit 0, usage on stdout (at most 60 lines of at most 79
#                   columns), nothing on stderr
#   --version       exit 0, "TOOL VERSION" on stdout (VERSION file)
#   unknown option  exit 64, "TOOL: error: unknown option '...'" on stderr
#   the same with --error-format=json: one JSON object with "exit":64,
#                   valid UTF-8 JSON even when the option is not UTF-8
#   --help/--version on a full disk or a closed stdout: exit 71,
#                   "TOOL: error: cannot write to standard output: ..."
# usage: cli_contract_test.sh VERSION_FILE TOOL_BINARY...
set -uo pipefail
version=$(tr -d ' \n\r' < "$1")
shift
[ "$#" -ge 6 ] || { echo "expected the 6 tools, got $#" >&2; exit 1; }
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail=0
check() { # name condition-description
  if [ "$2" != ok ]; then echo "FAIL $1: $2"; fail=1; else echo "ok   $1"; fi
}
for bin in "$@"; do
  tool=$(basename "$bin")
  out=$tmp/out err=$tmp/err

  "$bin" --help >"$out" 2>"$err" </dev/null; rc=$?
  r=ok
  [ "$rc" -eq 0 ] || r="exit $rc"
  [ "$r" = ok ] && { head -n 1 "$out" | grep -q "^usage: $tool\b" || r="first line: $(head -n 1 "$out")"; }
  [ "$r" = ok ] && { [ ! -s "$err" ] || r="stderr not empty: $(head -c 200 "$err")"; }
  [ "$r" = ok ] && { [ "$(wc -l < "$out")" -le 60 ] || r="help longer than 60 lines"; }
  [ "$r" = ok ] && { ! grep -n '.\{80\}' "$out" >/dev/null || r="help line wider than 79 columns: $(grep -n '.\{80\}' "$out" | head -n 1)"; }
  [ "$r" = ok ] && { ! grep -n ' $' "$out" >/dev/null || r="trailing space in help: $(grep -n ' $' "$out" | head -n 1)"; }
  check "$tool --help" "$r"

  "$bin" --version >"$out" 2>"$err" </dev/null; rc=$?
  r=ok
  [ "$rc" -eq 0 ] || r="exit $rc"
  [ "$r" = ok ] && { [ "$(cat "$out")" = "$tool $version" ] || r="printed '$(cat "$out")'"; }
  check "$tool --version" "$r"

  "$bin" --no-such-flag >"$out" 2>"$err" </dev/null; rc=$?
  r=ok
  [ "$rc" -eq 64 ] || r="exit $rc (want 64)"
  [ "$r" = ok ] && { head -n 1 "$err" | grep -qx "$tool: error: unknown option '--no-such-flag'" || r="stderr: $(head -n 1 "$err")"; }
  [ "$r" = ok ] && { [ ! -s "$out" ] || r="stdout not empty"; }
  check "$tool --no-such-flag" "$r"

  "$bin" --error-format=json --no-such-flag >"$out" 2>"$err" </dev/null; rc=$?
  r=ok
  [ "$rc" -eq 64 ] || r="exit $rc (want 64)"
  [ "$r" = ok ] && { [ "$(wc -l < "$err")" -eq 1 ] || r="want one line of JSON, got: $(head -c 300 "$err")"; }
  [ "$r" = ok ] && { grep -q "^{\"exit\":64,\"kind\":\"usage\",\"level\":\"error\",\"message\":\"unknown option '--no-such-flag'.*\"tool\":\"$tool\"}\$" "$err" || r="stderr: $(cat "$err")"; }
  check "$tool --error-format=json --no-such-flag" "$r"

  "$bin" --error-format=json $'--bad-\xff-\xc3\xa9' >"$out" 2>"$err" </dev/null; rc=$?
  r=ok
  [ "$rc" -eq 64 ] || r="exit $rc (want 64)"
  [ "$r" = ok ] && { python3 -c 'import json, sys; d = json.loads(open(sys.argv[1], "rb").read()); assert d["message"].startswith("unknown option \x27--bad-\\xff-\u00e9\x27"), d' "$err" 2>/dev/null ||
    r="stderr is not the JSON object wanted: $(head -c 300 "$err" | od -c | head -n 3)"; }
  check "$tool --error-format=json (non-UTF-8 option)" "$r"

  for flag in --help --version; do
    for where in full closed; do
      if [ "$where" = full ]; then "$bin" "$flag" >/dev/full 2>"$err" </dev/null; rc=$?
      else "$bin" "$flag" >&- 2>"$err" </dev/null; rc=$?; fi
      r=ok
      [ "$rc" -eq 71 ] || r="exit $rc (want 71)"
      [ "$r" = ok ] && { grep -qx "$tool: error: cannot write to standard output: .*" "$err" || r="stderr: $(head -c 200 "$err")"; }
      check "$tool $flag (stdout $where)" "$r"
    done
  done
done
exit $fail
