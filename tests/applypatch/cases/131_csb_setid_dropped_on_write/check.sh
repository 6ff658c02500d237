# Without CAP_FSETID a write clears set-user-ID, and set-group-ID when the
# group may execute (the kernel's rule): every changed file loses them so;
# bin/same, only moved (its chunk changes nothing), keeps its mode.
set -e
m() { stat -c '%a' "$1"; }
for f in tool:755 nox:2745 suid:644 bin/mover:755 bin/same:6755 over:755; do
  [ "$(m "${f%%:*}")" = "${f#*:}" ] || { echo "${f%%:*}: mode $(m "${f%%:*}"), expected ${f#*:}"; exit 1; }
done
