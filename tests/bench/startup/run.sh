#!/bin/bash
# Startup benchmark (not a test): median wall time of
#   csb-bwrap --policy P -- /bin/true
#   bare bubblewrap with the same mounts and namespaces -- /bin/true
#   codex sandbox -P :workspace -- /bin/true        (npm @openai/codex)
#   srt -c true                                      (npm @anthropic-ai/sandbox-runtime)
# run side by side in one run, printed as ratios. Goals: csb-bwrap at most
# 1.25x bare bubblewrap and at least 5x faster than codex.
#
# What every csb-bwrap run does on top of the bare one: its own exec and
# planning; the inner stage (csb-bwrap executed again as the sandbox's pid 1:
# capability and mask checks, the seccomp filter, CMD as its child); and
# creating and removing the mount targets of the missing protected names
# (.git .agents .codex .csb) in the workspace. Bare bubblewrap creates those
# on its first run and leaves them behind, so its later runs only mount over
# them; on a disk file system the create/remove pair alone is a sizeable
# part of the difference.
#
# usage: tests/bench/startup/run.sh [CSB_BWRAP] [RUNS]   (RUNS: rounds, default 151, ~80 s)
#   CSB_BWRAP defaults to bazel-bin/tools/csb-bwrap/csb-bwrap (the static build);
#   codex/srt are looked up on PATH, in the peers `./dev.sh setup` installs
#   ($CSB_PEERS_DIR, default ~/.cache/csb/peers), in ./node_modules/.bin and
#   ~/node_modules/.bin (or set CODEX / SRT). Uses hyperfine when installed, else its own loop.
#   As root it runs under SCHED_FIFO (chrt -f 10) so that other load on the
#   machine does not dominate process start-up times; BENCH_RT=0 disables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
csb="${1:-$root/bazel-bin/tools/csb-bwrap/csb-bwrap}"
case "$csb" in /*) ;; *) csb="$PWD/$csb" ;; esac
runs="${2:-151}"  # (the ratios of runs of 61 spread by about +-0.03)
find_tool() {
  local name="$1" var="$2"
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  local peers="${CSB_PEERS_DIR:-$HOME/.cache/csb/peers}"
  for c in "$(command -v "$name" 2>/dev/null)" "$peers/node_modules/.bin/$name" "$root/node_modules/.bin/$name" "$HOME/node_modules/.bin/$name"; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return; fi
  done
}
codex="$(find_tool codex CODEX)"
srt="$(find_tool srt SRT)"

work="$(mktemp -d "${BENCH_DIR:-/tmp}/csb-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ws"
cat > "$work/policy.json" <<JSON
{
  "cwd": "$work/ws",
  "enforcement": "managed",
  "filesystem": {
    "deny_globs": [],
    "entries": [
      {"access": "read", "origin": ":root", "path": "/"},
      {"access": "write", "origin": ":workspace_roots", "path": "$work/ws"}
    ],
    "include_platform_defaults": false,
    "kind": "restricted"
  },
  "legacy": {"linux_backend": "bubblewrap", "projection_error": "benchmark policy", "round_trips": false},
  "network": {"allow_local_binding": false, "dangerously_allow_all_unix_sockets": false, "mode": "restricted", "unix_sockets": {}},
  "platform": "linux",
  "profile": {"extends": [], "id": ":workspace", "kind": "builtin"},
  "schema": "csb.policy/v1",
  "summary": "workspace-write [workdir]",
  "warnings": [],
  "workspace_roots": [{"origin": "cwd", "path": "$work/ws"}]
}
JSON
# Bare bubblewrap leaves the mount targets it creates behind, csb-bwrap
# removes those it created: each kind of row has a workspace of its own
# (same layout, same mounts), so that csb-bwrap creates and removes them on
# every run, as it does for a user, whatever ran before it.
policy_for() {  # DIR -> policy file for that workspace
  sed "s#$work/ws\"#$1\"#g" "$work/policy.json" > "$work/policy-$(basename "$1").json"
  echo "$work/policy-$(basename "$1").json"
}
bare_for() {  # DIR [--pid1 FLOOR] -> bare command for that workspace
  local d="$1"; shift
  (cd "$d" && "$csb" --policy "$(policy_for "$d")" --print-argv -- /bin/true | /usr/bin/python3 "$here/bare_argv.py" "$@" /bin/true)
}
mkdir -p "$work/ws-bare" "$work/ws-codex"
cd "$work/ws"
bare="$(bare_for "$work/ws-bare")"
# The same in a git checkout (.git present, the other protected names
# missing): one mount target fewer to create and remove per run.
for d in repo repo-bare; do
  mkdir -p "$work/$d/.git/objects" "$work/$d/.git/refs"
  echo "ref: refs/heads/main" > "$work/$d/.git/HEAD"
done
policy_repo="$(policy_for "$work/repo")"
bare_repo="$(bare_for "$work/repo-bare")"

# The floor of the two-stage design: the same bare command with floor.c as
# the sandbox's pid 1 (it starts /bin/true and reaps), and that again
# started by floor.c as the launcher. What csb-bwrap takes above the second
# row is its own work (planning, checks, seccomp, mount targets); the rest
# is the cost of its process structure on this machine.
# roundrobin.c runs the commands in turn (see "Timing" in README.md).
floor="${FLOOR:-}" rr="${ROUNDROBIN:-}"
if [ -z "$floor" ] || [ -z "$rr" ]; then
  if command -v bazel >/dev/null && (cd "$root" && bazel build //tests/bench/startup:floor //tests/bench/startup:roundrobin >&2); then
    floor="${floor:-$root/bazel-bin/tests/bench/startup/floor}"
    rr="${rr:-$root/bazel-bin/tests/bench/startup/roundrobin}"
  else
    [ -n "$floor" ] || { floor="$work/floor"; ${CC:-cc} -std=c17 -O2 -static -o "$floor" "$here/floor.c"; }
    [ -n "$rr" ] || { rr="$work/roundrobin"; ${CC:-cc} -std=c17 -O2 -o "$rr" "$here/roundrobin.c"; }
  fi
fi
floor_pid1="$(bare_for "$work/ws-bare" --pid1 "$floor")"

names=("csb-bwrap" "bare bwrap" "floor: pid 1" "floor: launcher + pid 1" "csb-bwrap (repo)" "bare bwrap (repo)")
cmds=("$csb --policy $work/policy.json -- /bin/true" "$bare" "$floor_pid1" "$floor $floor_pid1"
      "$csb --policy $policy_repo -C $work/repo -- /bin/true" "$bare_repo")
if [ -n "$codex" ]; then
  # codex refuses a CODEX_HOME under /tmp
  ch="$HOME/.cache/csb-bench-codex-home"; mkdir -p "$ch"
  names+=("codex sandbox"); cmds+=("env CODEX_HOME=$ch $codex sandbox -P :workspace -C $work/ws-codex -- /bin/true")
else
  echo "note: codex not found (./dev.sh setup installs it); skipped" >&2
fi
if [ -n "$srt" ]; then
  names+=("srt"); cmds+=("$srt -c true")
else
  echo "note: srt not found (./dev.sh setup installs it with socat and ripgrep); skipped" >&2
fi

rt=()
if [ "${BENCH_RT:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v chrt >/dev/null; then
  rt=(chrt -f 10)
  echo "note: timing under SCHED_FIFO (chrt -f 10); BENCH_RT=0 to disable" >&2
fi
declare -A med
quoted=0
for c in "${cmds[@]}"; do case "$c" in *\'*|*\"*) quoted=1 ;; esac; done
tool="${BENCH_TOOL:-roundrobin}"
if [ "$tool" = roundrobin ] && [ "$quoted" = 0 ]; then
  args=()
  for i in "${!cmds[@]}"; do args+=("${names[$i]}=${cmds[$i]}"); done
  while IFS=$'\t' read -r n m; do med["$n"]="$m"; done < <("${rt[@]}" "$rr" -g "${BENCH_GAP_MS:-0}" "$runs" "${args[@]}")
elif command -v hyperfine >/dev/null; then
  args=()
  for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  "${rt[@]}" hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/h.json" "${args[@]}" >&2
  while IFS=$'\t' read -r n m; do med["$n"]="$m"; done < <(/usr/bin/python3 -c '
import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"] + "\t" + str(r["median"]))' "$work/h.json")
else
  for i in "${!cmds[@]}"; do
    med["${names[$i]}"]="$("${rt[@]}" /usr/bin/python3 - "$runs" "${cmds[$i]}" <<'PY'
import shlex, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), shlex.split(sys.argv[2])
for _ in range(3): subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ts = []
for _ in range(runs):
    t = time.perf_counter(); subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); ts.append(time.perf_counter() - t)
print(statistics.median(ts))
PY
)"
  done
fi
echo
printf '%-24s %12s %18s %16s\n' "sandbox" "median (ms)" "vs bare bwrap" "vs csb-bwrap"
c="${med[csb-bwrap]}"; b="${med[bare bwrap]}"
for n in "${names[@]}"; do
  m="${med[$n]}"
  /usr/bin/python3 -c "import sys; n,m,b,c=sys.argv[1],float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); print('%-24s %12.1f %17.2fx %15.2fx' % (n, m*1000, m/b, m/c))" "$n" "$m" "$b" "$c"
done
/usr/bin/python3 -c "
import sys; c,b=float(sys.argv[1]),float(sys.argv[2]); x=sys.argv[3]
r=float(sys.argv[4])/float(sys.argv[5])
print(); print('goal csb-bwrap <= 1.25x bare bwrap: %.3fx %s (in a git checkout: %.3fx)' % (c/b, 'met' if c/b <= 1.25 else 'NOT met', r))
if x: print('goal codex >= 5x csb-bwrap: %.1fx %s' % (float(x)/c, 'met' if float(x)/c >= 5 else 'NOT met'))
f=float(sys.argv[6])
print('two-stage floor (launcher + bwrap + pid 1, doing nothing): %.2fx bare bwrap; csb-bwrap %.2fx the floor' % (f/b, c/f))
" "$c" "$b" "${med[codex sandbox]:-}" "${med[csb-bwrap (repo)]}" "${med[bare bwrap (repo)]}" "${med[floor: launcher + pid 1]}"
