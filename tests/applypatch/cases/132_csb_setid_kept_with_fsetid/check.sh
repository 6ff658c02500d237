# With CAP_FSETID (root) a write keeps set-user-ID and set-group-ID.
set -e
m() { stat -c '%a' "$1"; }
for f in tool:6755 nox:2745 suid:4644 bin/mover:6755 bin/same:6755 ident:6755 over:4755; do
  [ "$(m "${f%%:*}")" = "${f#*:}" ] || { echo "${f%%:*}: mode $(m "${f%%:*}"), expected ${f#*:}"; exit 1; }
done
