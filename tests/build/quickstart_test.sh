#!/usr/bin/env bash
# README's quick start is exactly two commands, (a) run and (b) test, both
# dev.sh subcommands that dev.sh implements, and .ci/run runs command (b)
# and nothing else.
# usage: quickstart_test.sh README.md .ci/run dev.sh
set -uo pipefail
readme=$1 ci=$2 devsh=$3
fail=0
check() { if [ "$2" != ok ]; then echo "FAIL $1: $2"; fail=1; else echo "ok   $1"; fi; }

# The indented (code) lines of the "## Quick start" section.
mapfile -t cmds < <(awk '/^## /{q = ($0 ~ /^## Quick start/)} q && /^    [^ ]/{sub(/^    /, ""); print}' "$readme")
r=ok
[ "${#cmds[@]}" -eq 2 ] || r="want 2 commands, got ${#cmds[@]}: ${cmds[*]}"
[ "$r" = ok ] && { [ "${cmds[0]}" = "./dev.sh run" ] && [ "${cmds[1]}" = "./dev.sh test" ] || r="commands: ${cmds[*]}"; }
check "README quick start: ./dev.sh run, ./dev.sh test" "$r"

r=ok
for sub in run test; do
  grep -qE "^    $sub\)" "$devsh" || r="dev.sh has no '$sub' subcommand"
done
check "dev.sh implements both" "$r"

# .ci/run: shell boilerplate (set, cd to the checkout) plus exactly
# `exec <command (b)>`.
mapfile -t lines < <(grep -vE '^\s*(#|$)' "$ci" | grep -vE '^set -euo pipefail$|^cd "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)/\.\."$')
r=ok
[ "${#lines[@]}" -eq 1 ] && [ "${lines[0]}" = "exec ${cmds[1]:-?}" ] || r="other commands: $(printf '[%s] ' "${lines[@]}")"
check ".ci/run runs README command (b) and nothing else" "$r"
[ -x "$ci" ] || { echo "FAIL .ci/run is not executable"; fail=1; }
exit $fail
