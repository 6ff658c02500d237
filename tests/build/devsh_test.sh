#!/usr/bin/env bash
# dev.sh's setup steps that need no network, on scratch inputs:
#   - the deb-src entry is derived from the machine's apt sources (deb822 or
#     one-line), keeping their mirror, suites, components and signing
#     options; third-party and disabled entries are left out; no Debian
#     entry at all is an error. /etc/apt and /etc/os-release are replaced
#     by scratch copies in a private mount namespace.
#   - the Debian source cache check names each pinned file that is missing
#     or has other bytes, and nothing when all are there.
# usage: devsh_test.sh DEV_SH
set -uo pipefail
devsh=$(readlink -f "$1")
tmp=${TEST_TMPDIR:-$(mktemp -d)}
export HOME=${HOME:-$tmp}
fail=0
check() { # name result
  if [ "$2" != ok ]; then echo "FAIL $1: $2"; fail=1; else echo "ok   $1"; fi
}

if ! unshare -m true 2>/dev/null; then
  echo "FAIL: cannot create a mount namespace (run as root)"
  exit 1
fi

# derive CASE: runs derive_deb_src with $tmp/CASE as /etc/apt; leaves its stdout+stderr in $out, status in $rc.
derive() {
  local c=$tmp/$1
  mkdir -p "$c/sources.list.d"
  [ -e "$c/sources.list" ] || : > "$c/sources.list"
  printf 'ID=debian\nVERSION_CODENAME=bookworm\n' > "$c/os-release"
  out=$(unshare -m bash -c '
    set -e
    mount --bind "$1" /etc/apt
    mount --bind "$1/os-release" /etc/os-release
    source "$2"
    derive_deb_src' derive "$c" "$devsh" 2>&1)
  rc=$?
}

# --- deb822 -------------------------------------------------------------
mkdir -p "$tmp/d822/sources.list.d"
cat > "$tmp/d822/sources.list.d/debian.sources" <<'EOF'
Types: deb
# a comment inside the stanza
URIs: http://mirror.example.invalid/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://security.example.invalid/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.example.invalid/debian
Suites: bookworm-backports
Components: main
Enabled: no
EOF
cat > "$tmp/d822/sources.list.d/vendor.sources" <<'EOF'
Types: deb
URIs: https://vendor.example.invalid/node
Suites: nodistro
Components: main
EOF
derive d822
want=$(cat <<'EOF'
Types: deb-src
URIs: http://mirror.example.invalid/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://security.example.invalid/debian-security
Suites: bookworm-security
Components: main
EOF
)
r=ok
[ "$rc" -eq 0 ] || r="exit $rc: $out"
[ "$r" = ok ] && { [ "$(cat "$tmp/d822/sources.list.d/csb-deb-src.sources" 2>&1)" = "$want" ] ||
  r="wrote: $(cat "$tmp/d822/sources.list.d/csb-deb-src.sources" 2>&1)"; }
[ "$r" = ok ] && { [ "$(stat -c %a "$tmp/d822/sources.list.d/csb-deb-src.sources")" = 644 ] || r="mode $(stat -c %a "$tmp/d822/sources.list.d/csb-deb-src.sources")"; }
check "deb822: deb-src twins of the Debian stanzas only" "$r"

# A second run rewrites the same file (the earlier output is not an input).
derive d822
r=ok
[ "$rc" -eq 0 ] || r="exit $rc: $out"
[ "$r" = ok ] && { [ "$(cat "$tmp/d822/sources.list.d/csb-deb-src.sources")" = "$want" ] || r="second run wrote: $(cat "$tmp/d822/sources.list.d/csb-deb-src.sources")"; }
check "deb822: a second run writes the same entry" "$r"

# --- one-line format ------------------------------------------------------
mkdir -p "$tmp/oneline/sources.list.d"
cat > "$tmp/oneline/sources.list" <<'EOF'
# comment
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.invalid/debian bookworm main
deb http://security.example.invalid/debian-security bookworm-security main
deb-src http://mirror.example.invalid/debian bullseye main
EOF
echo 'deb https://vendor.example.invalid/apt stable main' > "$tmp/oneline/sources.list.d/vendor.list"
derive oneline
want=$(cat <<'EOF'
deb-src [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.invalid/debian bookworm main
deb-src http://security.example.invalid/debian-security bookworm-security main
EOF
)
r=ok
[ "$rc" -eq 0 ] || r="exit $rc: $out"
[ "$r" = ok ] && { [ "$(cat "$tmp/oneline/sources.list.d/csb-deb-src.list" 2>&1)" = "$want" ] ||
  r="wrote: $(cat "$tmp/oneline/sources.list.d/csb-deb-src.list" 2>&1)"; }
check "one-line: deb-src twins of the Debian lines only" "$r"

# --- nothing to derive from -----------------------------------------------
mkdir -p "$tmp/none/sources.list.d"
cp "$tmp/d822/sources.list.d/vendor.sources" "$tmp/none/sources.list.d/"
derive none
r=ok
[ "$rc" -ne 0 ] || r="succeeded: $out"
[ "$r" = ok ] && { grep -q "dev.sh: error: found no Debian 'bookworm' entries" <<<"$out" || r="message: $out"; }
[ "$r" = ok ] && { [ -z "$(ls "$tmp/none/sources.list.d" | grep csb-)" ] || r="wrote $(ls "$tmp/none/sources.list.d")"; }
check "no Debian entry: fails, writes nothing" "$r"

# --- the Debian source cache check ---------------------------------------
root=$tmp/root
mkdir -p "$root/third_party/debian" "$tmp/cache/pkga" "$tmp/cache/pkgb"
echo a1 > "$tmp/cache/pkga/pkga_1.dsc"
echo a2 > "$tmp/cache/pkga/pkga_1.orig.tar.gz"
echo b1 > "$tmp/cache/pkgb/pkgb_2.dsc"
sum() { sha256sum "$1" | cut -d' ' -f1; }
cat > "$root/third_party/debian/pins.bzl" <<EOF
DEBIAN_PINS = {
    "pkga": {
        "version": "1",
        "files": {
            "pkga_1.dsc": "$(sum "$tmp/cache/pkga/pkga_1.dsc")",
            "pkga_1.orig.tar.gz": "$(sum "$tmp/cache/pkga/pkga_1.orig.tar.gz")",
        },
    },
    "pkgb": {
        "version": "2",
        "files": {
            "pkgb_2.dsc": "$(sum "$tmp/cache/pkgb/pkgb_2.dsc")",
            "pkgb_2.orig.tar.gz": "$(sum "$tmp/cache/pkgb/pkgb_2.dsc")",
        },
    },
}
EOF
missing() { (source "$devsh" && ROOT=$root && CSB_DEBSRC_CACHE=$tmp/cache && set -euo pipefail && sources_missing | tr '\n' ' '); }
cached() { (source "$devsh" && ROOT=$root && CSB_DEBSRC_CACHE=$tmp/cache && sources_cached) && echo yes || echo no; }
r=ok
[ "$(missing)" = "pkgb_2.orig.tar.gz " ] || r="missing: '$(missing)'"
[ "$(cached)" = no ] || r="reported as cached"
check "cache check: a missing file is named" "$r"
echo changed > "$tmp/cache/pkga/pkga_1.dsc"
cp "$tmp/cache/pkgb/pkgb_2.dsc" "$tmp/cache/pkgb/pkgb_2.orig.tar.gz"
r=ok
[ "$(missing)" = "pkga_1.dsc " ] || r="missing: '$(missing)'"
check "cache check: a file with other bytes is named" "$r"
echo a1 > "$tmp/cache/pkga/pkga_1.dsc"
r=ok
[ -z "$(missing)" ] || r="missing: '$(missing)'"
[ "$(cached)" = yes ] || r="not reported as cached"
check "cache check: complete cache" "$r"

exit $fail
