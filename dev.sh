#!/usr/bin/env bash
# dev.sh - set up a Debian 12 machine for csb and run it.
#
#   ./dev.sh run [-- CMD ARGS...]   set up, build, and run CMD (default: a
#                                   greeting) confined under the default
#                                   :workspace policy of the current directory
#   ./dev.sh test [BAZEL ARGS...]   set up, run every test (bazel test //...),
#                                   then the differential checks against
#                                   codex (tests/bwrap/differential,
#                                   tests/applypatch/differential) and the
#                                   fuzz targets' build commands
#                                   (tests/fuzz/check_commands.py)
#   ./dev.sh setup                  only set up (packages, deb-src, npm peers)
#
# Every step is idempotent and skipped when already done: apt runs only when
# a package or the deb-src index is missing, Debian sources come from the
# cache directory ($CSB_DEBSRC_CACHE, default ~/.cache/csb/debsrc) once
# fetched, and the pinned npm peers (tests/peers) are installed once into
# $CSB_PEERS_DIR (default ~/.cache/csb/peers).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PACKAGES=(
  bazel-bootstrap   # Bazel 4.2.3
  g++               # host toolchain (GoogleTest tests, host tool variants)
  musl-tools        # musl-gcc: static release binaries
  gcc-mingw-w64-x86-64-posix  # the .exe builds (third_party/mingw)
  wine64            # runs them in //tests/{winacl,resolve,applypatch}:wine_test
  bubblewrap        # system bwrap for csb-bwrap during development
  gperf             # libseccomp syscall table
  dpkg-dev          # dpkg-source: unpacks pinned Debian source packages
  patch             # used by dpkg-source for Debian patches
  xz-utils
  googletest        # /usr/src/googletest, built by Bazel
  libgtest-dev
  python3           # test runners, release tarball writer and checkers
  mandoc            # //tests/build:man_test lints the manual pages
  ca-certificates
  curl              # csb-proxy tests (clients through the proxy)
  git               # csb-proxy tests (git clone through the proxy)
  iproute2          # csb-proxy tests (ip, in a private network namespace)
  util-linux        # unshare (csb-proxy tests), chrt (benchmarks)
  socat             # sandbox-runtime (srt), a benchmark peer
  ripgrep           # sandbox-runtime (srt), a benchmark peer
  hyperfine         # tests/bench/startup
  wrk               # tests/bench/proxy
  tinyproxy-bin     # tests/bench/proxy: the binary only, no system service
  clang             # libFuzzer builds (docs/fuzzing.md, tests/fuzz/check_commands.py)
  libclang-rt-14-dev
)
# Debian source packages the build unpacks (see third_party/debian/pins.bzl).
SOURCE_PACKAGES=(android-platform-external-boringssl bubblewrap cjson libcap2 libseccomp)
# npm packages pinned in tests/peers (package.json + package-lock.json):
# codex (the differential check, benchmarks) and sandbox-runtime (benchmarks).
PEERS_SRC="$ROOT/tests/peers"
PEERS_DIR=${CSB_PEERS_DIR:-$HOME/.cache/csb/peers}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'dev.sh: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for: $* (run as root or install sudo)"
  fi
}

APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
}

setup_packages() {
  local wanted=("${PACKAGES[@]}") missing=() p
  # Node.js and npm install the peers: a machine that already has them (from
  # any origin, e.g. a newer Node.js) keeps them, otherwise Debian's are added.
  command -v node >/dev/null 2>&1 || wanted+=(nodejs)
  command -v npm >/dev/null 2>&1 || wanted+=(npm)
  # One dpkg-query for all: prints "NAME ii " for installed ones.
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${wanted[@]}" 2>/dev/null || true)
  for p in "${wanted[@]}"; do
    if ! grep -qxF "$p ii " <<<"$installed"; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    say "packages: all ${#wanted[@]} installed"
    return
  fi
  say "packages: installing ${missing[*]}"
  apt_update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints the name of every file pinned in third_party/debian/pins.bzl that
# the cache lacks or holds with other bytes, one per line; prints nothing
# when Bazel can unpack all Debian sources without apt.
sources_missing() {
  local cache=${CSB_DEBSRC_CACHE:-$HOME/.cache/csb/debsrc}
  local pins="$ROOT/third_party/debian/pins.bzl" name sum
  [ -f "$pins" ] || { echo "$pins"; return; }
  while read -r name sum; do
    # Debian file names start with the source package name: PKG_VERSION...
    echo "$sum  $cache/${name%%_*}/$name"
  done < <(sed -n 's/^ *"\([^"]*\)": "\([0-9a-f]\{64\}\)",$/\1 \2/p' "$pins") |
    LC_ALL=C sha256sum --check --quiet - 2>/dev/null | sed -n 's|^.*/\([^/]*\): FAILED.*$|\1|p'
  return 0 # sha256sum's failure is the list printed
}

sources_cached() {
  [ -z "$(sources_missing)" ]
}

has_deb_src() {
  apt-get indextargets --format '$(IDENTIFIER)' 2>/dev/null | grep -cx Sources >/dev/null
}

# Writes a deb-src twin of every Debian entry in the machine's apt sources
# (deb822 *.sources or one-line *.list/sources.list), keeping URIs, suites,
# components and signing options. Third-party repositories (suites not named
# after this release) are left out.
derive_deb_src() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  local dir=/etc/apt/sources.list.d
  local out822 tmp
  tmp=$(mktemp)
  # deb822 stanzas.
  local f
  for f in "$dir"/*.sources; do
    [ -e "$f" ] || continue
    case "$f" in */csb-deb-src.sources) continue ;; esac
    awk -v code="$codename" '
      function flush() {
        if (n > 0 && isdeb && suite_ok) {
          for (i = 1; i <= n; i++) print lines[i]
          print ""
        }
        n = 0; isdeb = 0; suite_ok = 0
      }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      {
        line = $0
        if (tolower($1) == "types:") {
          isdeb = ($0 ~ /(^|[[:space:]])deb([[:space:]]|$)/)
          line = "Types: deb-src"
        }
        if (tolower($1) == "suites:") {
          for (i = 2; i <= NF; i++) if ($i == code || index($i, code "-") == 1) suite_ok = 1
        }
        if (tolower($1) == "enabled:" && tolower($2) == "no") { isdeb = 0 }
        lines[++n] = line
      }
      END { flush() }
    ' "$f" >>"$tmp"
  done
  if [ -s "$tmp" ]; then
    out822="$dir/csb-deb-src.sources"
    say "deb-src: writing $out822 (derived from $dir/*.sources)"
    as_root install -m 0644 "$tmp" "$out822"
    rm -f "$tmp"
    return
  fi
  # One-line format.
  : >"$tmp"
  for f in /etc/apt/sources.list "$dir"/*.list; do
    [ -e "$f" ] || continue
    case "$f" in */csb-deb-src.list) continue ;; esac
    awk -v code="$codename" '
      $1 == "deb" {
        # deb [options] URI SUITE COMPONENTS...
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        suite = $(i + 1)
        if (suite == code || index(suite, code "-") == 1) { sub(/^deb/, "deb-src"); print }
      }
    ' "$f" >>"$tmp"
  done
  [ -s "$tmp" ] || { rm -f "$tmp"; die "found no Debian '$codename' entries in the apt sources to derive deb-src from"; }
  say "deb-src: writing $dir/csb-deb-src.list (derived from the one-line apt sources)"
  as_root install -m 0644 "$tmp" "$dir/csb-deb-src.list"
  rm -f "$tmp"
}

# Before the packages: a new deb-src entry then costs no second apt-get update.
setup_deb_src() {
  if sources_cached || has_deb_src; then
    return
  fi
  derive_deb_src
  APT_UPDATED=0 # the next apt_update must run and fetch the Sources indexes
}

setup_sources() {
  if sources_cached; then
    say "debian sources: all pinned files cached"
    return
  fi
  # deb-src configured but never fetched (or stale): make sure apt knows them.
  local p
  for p in "${SOURCE_PACKAGES[@]}"; do
    if ! apt-cache showsrc --only-source "$p" 2>/dev/null | grep -c '^Package:' >/dev/null; then
      apt_update
      break
    fi
  done
  local lacking
  lacking=$(sources_missing)
  say "debian sources: $(wc -l <<<"$lacking") pinned file(s) not cached ($(head -n 3 <<<"$lacking" | tr '\n' ' ' | sed 's/ $//')$( [ "$(wc -l <<<"$lacking")" -le 3 ] || echo ', ...')); Bazel fetches them with apt-get source"
}

# The pinned peers as NAME@VERSION words (from tests/peers/package.json).
peer_pins() {
  sed -n 's/^ *"\(@[^"]*\)": "\([0-9][^"]*\)",\{0,1\}$/\1@\2/p' "$PEERS_SRC/package.json" | tr '\n' ' ' | sed 's/ $//'
}

# Installs tests/peers into $PEERS_DIR with `npm ci` (exact versions from the
# lock file). A stamp holding the hash of package.json + package-lock.json
# marks a finished install, so a changed pin or an interrupted install is
# redone and anything else is left alone.
setup_peers() {
  local stamp="$PEERS_DIR/.csb-peers-installed" want
  want=$(cat "$PEERS_SRC/package.json" "$PEERS_SRC/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
     [ -x "$PEERS_DIR/node_modules/.bin/codex" ] && [ -x "$PEERS_DIR/node_modules/.bin/srt" ]; then
    say "npm peers: $(peer_pins) in $PEERS_DIR"
    return
  fi
  say "npm peers: installing $(peer_pins) into $PEERS_DIR"
  mkdir -p "$PEERS_DIR"
  rm -f "$stamp"
  cp "$PEERS_SRC/package.json" "$PEERS_SRC/package-lock.json" "$PEERS_DIR/"
  (cd "$PEERS_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
    die "npm ci in $PEERS_DIR failed"
  "$PEERS_DIR/node_modules/.bin/codex" --version >/dev/null 2>&1 ||
    die "$PEERS_DIR/node_modules/.bin/codex does not run"
  printf '%s\n' "$want" >"$stamp"
}

setup() {
  [ -r /etc/debian_version ] || die "this script supports Debian 12 (bookworm)"
  setup_deb_src
  setup_packages
  setup_sources
  setup_peers
  command -v bazel >/dev/null || die "bazel not on PATH after installing bazel-bootstrap"
}

bazel_cmd() {
  (cd "$ROOT" && bazel "$@")
}

cmd_run() {
  setup
  say "building csb-resolve, csb-bwrap and bwrap (static, musl)"
  bazel_cmd build --noshow_progress --ui_event_filters=-info,-stdout \
    //tools/csb-resolve //tools/csb-bwrap //third_party:bwrap
  local bin
  bin=$(bazel_cmd info bazel-bin 2>/dev/null)
  local resolve="$bin/tools/csb-resolve/csb-resolve" bwrap="$bin/tools/csb-bwrap/csb-bwrap"
  local shown="$*"
  if [ "$#" -eq 0 ]; then
    shown="sh -c '<greeting: try writes in the workspace, /etc and .git>'"
    # The greeting shows the confinement: the workspace is writable, the
    # rest of the system and .git are not.
    set -- sh -c 'echo "hello from the sandbox in $PWD";
      for f in ./.csb-demo /etc/csb-demo .git/csb-demo; do
        if touch "$f" 2>/dev/null; then rm -f "$f"; echo "write $f: allowed";
        else echo "write $f: denied"; fi; done'
  fi
  say "policy: $("$resolve" -C "$PWD" -P :workspace --explain | head -n 1)"
  say "running: csb-resolve -C $(printf '%q' "$PWD") -P :workspace | csb-bwrap --policy - -- $shown"
  # The bundled static bwrap is used when the system has none.
  PATH="$PATH:$bin/third_party" "$resolve" -C "$PWD" -P :workspace |
    PATH="$PATH:$bin/third_party" "$bwrap" --policy - -- "$@"
}

cmd_test() {
  setup
  say "bazel test //... $*"
  bazel_cmd test //... "$@"
  # Not a Bazel test: it runs the peer from $PEERS_DIR and keeps codex's home
  # under ~/.cache. --require: a missing codex is a failure, not a skip.
  say "differential check: csb-bwrap behaviour cases under codex sandbox"
  "$ROOT/tests/bwrap/differential/run.sh" --require "$PEERS_DIR/node_modules/.bin/codex"
  say "differential check: csb-applypatch against codex's apply_patch, 2000 random patches"
  "$ROOT/tests/applypatch/differential/run.sh" --require "$PEERS_DIR/node_modules/.bin/codex"
  # Not a Bazel test either: the fuzz targets' documented clang commands,
  # run from the source tree as a reader would (docs/fuzzing.md).
  say "fuzz targets: the build command in each header, then 2000 inputs each"
  "$ROOT/tests/fuzz/check_commands.py"
}

usage() {
  sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

main() {
  local cmd=${1:-}
  [ "$#" -gt 0 ] && shift
  case "$cmd" in
    run)
      [ "${1:-}" = "--" ] && shift
      cmd_run "$@"
      ;;
    test) cmd_test "$@" ;;
    setup) setup ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 64 ;;
  esac
}

# Sourced (by tests/build/devsh_test.sh): define the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
