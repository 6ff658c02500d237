# Without CAP_FSETID a write clears set-user-ID, and set-group-ID when the
# group may execute (the kernel's rule): every file a hunk writes loses
# them so, also bin/same (moved, its chunk changes nothing) and ident (its
# chunk changes nothing), as writing the same bytes again would.
set -e
m() { stat -c '%a' "$1"; }
for f in tool:755 nox:2745 suid:644 bin/mover:755 bin/same:755 ident:755 over:755; do
  [ "$(m "${f%%:*}")" = "${f#*:}" ] || { echo "${f%%:*}: mode $(m "${f%%:*}"), expected ${f#*:}"; exit 1; }
done
