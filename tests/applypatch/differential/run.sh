#!/bin/bash
# Differential check: seeded random patches over random small trees, applied
# by csb-applypatch and by Codex's apply_patch (npm @openai/codex, pinned in
# tests/peers), both invoked as `apply_patch` (argv[0] dispatch) in the same
# directory on identical trees; exit status, stdout, stderr and the final
# tree (bytes, types, modes) are compared, and every difference must be one
# that expected_differences.txt names (gen.py checks each precisely). Not
# part of `bazel test` (it needs the npm peer); `./dev.sh test` runs it
# after `bazel test //...` with --require.
#
# usage: tests/applypatch/differential/run.sh [--require] [CODEX] [-- GEN.PY ARGS]
#   CODEX: the codex launcher or native binary; defaults as in
#   tests/bwrap/differential/run.sh ($CODEX, PATH, $CSB_PEERS_DIR,
#   ./node_modules, ~/node_modules). csb-applypatch is $CSB_APPLYPATCH, else
#   built with bazel. GEN.PY ARGS: --seed N --count N (default 1, 2000),
#   --only N (one case, shown in full), --show N.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
require=0
[ "${CI:-}" = true ] && require=1
if [ "${1:-}" = "--require" ]; then require=1; shift; fi
codex=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then codex="$1"; shift; fi
[ "${1:-}" = "--" ] && shift
codex="${codex:-${CODEX:-}}"
if [ -z "$codex" ]; then
  peers="${CSB_PEERS_DIR:-$HOME/.cache/csb/peers}"
  for c in "$(command -v codex 2>/dev/null)" "$peers/node_modules/.bin/codex" \
           "$root/node_modules/.bin/codex" "$HOME/node_modules/.bin/codex"; do
    if [ -n "$c" ] && [ -x "$c" ]; then codex="$c"; break; fi
  done
fi
if [ -z "$codex" ] || ! "$codex" --version >/dev/null 2>&1; then
  if [ "$require" = 1 ]; then
    echo "applypatch differential: error: codex not found or not runnable (${codex:-no candidate}); ./dev.sh setup installs it" >&2
    exit 1
  fi
  echo "codex is not installed (./dev.sh setup, or npm i @openai/codex); applypatch differential check skipped"
  exit 0
fi
# The npm launcher is a node script: argv[0] dispatch needs the native binary.
native="$(/usr/bin/python3 - "$codex" <<'PY'
import glob, os, sys
real = os.path.realpath(sys.argv[1])
if not real.endswith(".js"):
    print(real)
    sys.exit(0)
nm = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(real))))
found = sorted(glob.glob(os.path.join(nm, "@openai", "codex-linux-*", "vendor", "*", "bin", "codex")))
print(found[0] if found else "")
PY
)"
if [ -z "$native" ] || [ ! -x "$native" ]; then
  echo "applypatch differential: error: no native codex binary next to $codex" >&2
  exit 1
fi
csb="${CSB_APPLYPATCH:-}"
if [ -z "$csb" ]; then
  (cd "$root" && bazel build --noshow_progress --ui_event_filters=-info,-stdout //tools/csb-applypatch) || exit 1
  csb="$(cd "$root" && bazel info bazel-bin 2>/dev/null)/tools/csb-applypatch/csb-applypatch"
fi
echo "codex: $("$codex" --version) ($native)"
exec /usr/bin/python3 "$here/gen.py" --csb "$csb" --codex "$native" "$@"
