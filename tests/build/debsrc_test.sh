#!/usr/bin/env bash
# The debian_source repository rule (third_party/debian/debsrc.bzl), run by a
# nested Bazel on a scratch workspace with a tiny Debian source package made
# here (orig tarball + one Debian patch) and a stand-in `apt-get` that either
# serves the package's files or fails like an unreachable mirror:
#   - pinned files in the cache: unpacked, Debian patch applied, our BUILD
#     file on top; apt-get is never run
#   - a pinned file missing from the cache: fetched with apt-get and stored
#   - a wrong pin, mirror reachable: fails naming the file and both sha256
#   - a wrong pin, mirror unreachable: fails naming the cached file and both
#     sha256 (not a misleading "no longer on the mirror")
#   - a file missing from the cache, mirror unreachable: fails naming the
#     missing file and saying the mirror could not be reached
#   - files that match their pins but not the .dsc: dpkg-source refuses them
# usage: debsrc_test.sh DEBSRC_BZL
set -uo pipefail
debsrc=$(readlink -f "$1")
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail=0
check() { # name result
  if [ "$2" != ok ]; then echo "FAIL $1: $2"; fail=1; else echo "ok   $1"; fi
}

# --- a Debian source package: csbfake 1.0-1 --------------------------------
pkgsrc=$tmp/pkg
mkdir -p "$pkgsrc/csbfake-1.0/debian/source" "$pkgsrc/csbfake-1.0/debian/patches"
(
  set -e
  cd "$pkgsrc/csbfake-1.0"
  echo 'int x;' > hello.c
  echo '3.0 (quilt)' > debian/source/format
  printf '%s\n' 'Source: csbfake' 'Maintainer: Nobody <nobody@example.invalid>' \
    '' 'Package: csbfake' 'Architecture: any' 'Description: test fixture' ' fixture' > debian/control
  printf '%s\n' 'csbfake (1.0-1) unstable; urgency=medium' '' '  * Fixture.' '' \
    ' -- Nobody <nobody@example.invalid>  Thu, 01 Jan 1970 00:00:00 +0000' > debian/changelog
  printf '%s\n' '--- a/hello.c' '+++ b/hello.c' '@@ -1 +1 @@' '-int x;' '+int x = 42;' > debian/patches/p1.patch
  echo p1.patch > debian/patches/series
  cd ..
  tar czf csbfake_1.0.orig.tar.gz --exclude=debian csbfake-1.0
  dpkg-source -b csbfake-1.0 >/dev/null 2>&1
) || { echo "FAIL: cannot build the fixture source package"; exit 1; }
files=(csbfake_1.0-1.debian.tar.xz csbfake_1.0-1.dsc csbfake_1.0.orig.tar.gz)
declare -A sum
for f in "${files[@]}"; do sum[$f]=$(sha256sum "$pkgsrc/$f" | cut -d' ' -f1); done
bad=0000000000000000000000000000000000000000000000000000000000000000

# --- stand-in apt-get: APT_MODE=serve copies the files, else "offline" ------
mkdir -p "$tmp/bin"
cat > "$tmp/bin/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >> "$tmp/apt.log"
if [ "\$APT_MODE" = serve ]; then cp "$pkgsrc"/csbfake_1.0* .; exit 0; fi
echo "Err:1 http://deb.example.invalid/debian bookworm/main csbfake 1.0-1 (dsc)"
echo "  Temporary failure resolving 'deb.example.invalid'" >&2
echo "E: Failed to fetch http://deb.example.invalid/debian/pool/main/c/csbfake/csbfake_1.0-1.dsc  Temporary failure resolving 'deb.example.invalid'" >&2
exit 100
EOF
chmod +x "$tmp/bin/apt-get"

# --- the scratch workspace --------------------------------------------------
ws=$tmp/ws
mkdir -p "$ws"
cp "$debsrc" "$ws/debsrc.bzl"
echo 'exports_files(["fake.BUILD"])' > "$ws/BUILD.bazel"
echo 'filegroup(name = "src", srcs = ["hello.c"])' > "$ws/fake.BUILD"
cat > "$ws/WORKSPACE" <<'EOF'
workspace(name = "scratch")
load("//:debsrc.bzl", "debian_source")
load("//:pins.bzl", "PINS")
debian_source(name = "fake", package = "csbfake", version = "1.0-1", files = PINS, build_file = "//:fake.BUILD")
EOF

n=0
# run NAME APT_MODE [FILE=SHA256 ...]: pins every file (overrides given),
# fetches @fake in a fresh output base; leaves $out, $rc, $ob.
run() {
  local name=$1 mode=$2 f
  shift 2
  declare -A pin
  for f in "${files[@]}"; do pin[$f]=${sum[$f]}; done
  for f in "$@"; do pin[${f%%=*}]=${f#*=}; done
  { echo 'PINS = {'; for f in "${files[@]}"; do echo "    \"$f\": \"${pin[$f]}\","; done; echo '}'; } > "$ws/pins.bzl"
  n=$((n + 1))
  ob=$tmp/ob$n
  : > "$tmp/apt.log"
  out=$( cd "$ws" && PATH="$tmp/bin:$PATH" APT_MODE=$mode CSB_DEBSRC_CACHE=$cache HOME=$tmp \
    bazel --nohome_rc --batch --output_user_root="$tmp/root" --output_base="$ob" \
      query --noshow_progress @fake//:all 2>&1 )
  rc=$?
}
has() { grep -qF -- "$1" <<<"$out"; }
fresh_cache() { # fresh_cache [FILE...]: a cache with every file but these
  cache=$tmp/cache$((n + 1))
  mkdir -p "$cache/csbfake"
  local f
  for f in "${files[@]}"; do cp "$pkgsrc/$f" "$cache/csbfake/"; done
  for f in "$@"; do rm -f "$cache/csbfake/$f"; done
}

fresh_cache
run cached offline
r=ok
[ "$rc" -eq 0 ] || r="exit $rc: $out"
[ "$r" = ok ] && { [ "$(cat "$ob/external/fake/hello.c" 2>/dev/null)" = 'int x = 42;' ] || r="Debian patch not applied: $(cat "$ob/external/fake/hello.c" 2>&1)"; }
[ "$r" = ok ] && { [ "$(cat "$ob/external/fake/DEBIAN_VERSION")" = 'csbfake 1.0-1' ] || r="DEBIAN_VERSION: $(cat "$ob/external/fake/DEBIAN_VERSION")"; }
[ "$r" = ok ] && { has '@fake//:src' || r="our BUILD file is not used: $out"; }
[ "$r" = ok ] && { [ ! -s "$tmp/apt.log" ] || r="apt-get ran although everything was cached: $(cat "$tmp/apt.log")"; }
check "all pinned files cached: unpacked offline, patched" "$r"

fresh_cache csbfake_1.0.orig.tar.gz
run missing-fetched serve
r=ok
[ "$rc" -eq 0 ] || r="exit $rc: $out"
[ "$r" = ok ] && { grep -qx 'apt-get source --download-only -q csbfake=1.0-1' "$tmp/apt.log" || r="apt-get calls: $(cat "$tmp/apt.log")"; }
[ "$r" = ok ] && { cmp -s "$cache/csbfake/csbfake_1.0.orig.tar.gz" "$pkgsrc/csbfake_1.0.orig.tar.gz" || r="fetched file not stored in the cache"; }
check "missing file: fetched with apt-get source and cached" "$r"

fresh_cache
run wrong-pin-online serve "csbfake_1.0-1.dsc=$bad"
r=ok
[ "$rc" -ne 0 ] || r="wrong pin accepted"
[ "$r" = ok ] && { has "sha256 mismatch for csbfake_1.0-1.dsc" || r="message does not name the file: $out"; }
[ "$r" = ok ] && { has "$bad" && has "${sum[csbfake_1.0-1.dsc]}" || r="message lacks the pinned and actual sha256: $out"; }
check "wrong pin, mirror reachable: fails naming the file" "$r"

fresh_cache
run wrong-pin-offline offline "csbfake_1.0-1.dsc=$bad"
r=ok
[ "$rc" -ne 0 ] || r="wrong pin accepted"
[ "$r" = ok ] && { has "csbfake_1.0-1.dsc: sha256 mismatch" || r="message does not name the file: $out"; }
[ "$r" = ok ] && { has "$bad" && has "${sum[csbfake_1.0-1.dsc]}" || r="message lacks the pinned and cached sha256: $out"; }
[ "$r" = ok ] && { ! has "no longer on the mirror" || r="misleading 'no longer on the mirror': $out"; }
check "wrong pin, mirror unreachable: fails naming the file" "$r"

fresh_cache csbfake_1.0.orig.tar.gz
run missing-offline offline
r=ok
[ "$rc" -ne 0 ] || r="succeeded without the orig tarball"
[ "$r" = ok ] && { has "csbfake_1.0.orig.tar.gz: not in the cache" || r="message does not name the missing file: $out"; }
[ "$r" = ok ] && { has "could not reach the mirror" || r="message does not say the mirror is unreachable: $out"; }
check "missing file, mirror unreachable: fails naming the file" "$r"

# Pins and cache agree on a changed orig tarball; the .dsc does not.
fresh_cache
mkdir -p "$tmp/other/csbfake-1.0" && echo 'int y;' > "$tmp/other/csbfake-1.0/hello.c"
tar czf "$cache/csbfake/csbfake_1.0.orig.tar.gz" -C "$tmp/other" csbfake-1.0
run dsc-mismatch offline "csbfake_1.0.orig.tar.gz=$(sha256sum "$cache/csbfake/csbfake_1.0.orig.tar.gz" | cut -d' ' -f1)"
r=ok
[ "$rc" -ne 0 ] || r="dpkg-source accepted a file the .dsc does not list"
[ "$r" = ok ] && { has "dpkg-source -x csbfake_1.0-1.dsc" || r="message: $out"; }
check "file differing from the .dsc checksums: dpkg-source refuses it" "$r"

exit $fail
