#!/bin/bash
# Benchmarks csb-proxy side by side with a direct loopback transfer,
# tinyproxy and sandbox-runtime's HTTP proxy, in one run:
#
#   1. CONNECT tunnel throughput for 1 GiB (goal: >= 90% of direct)
#   2. small HTTP requests/s, 100 keep-alive connections, wrk (goal: >= 2x
#      tinyproxy, ahead of sandbox-runtime)
#   3. MITM handshakes/s with and without the leaf cache
#   4. memory per idle keep-alive connection (goal: < 16 KiB)
#
# Needs: bazel, wrk and tinyproxy (apt), node + sandbox-runtime (from the
# peers `./dev.sh setup` installs, $CSB_PEERS_DIR, default ~/.cache/csb/peers;
# else installed with `npm i @anthropic-ai/sandbox-runtime` into the work dir;
# skipped when npm is missing). ./dev.sh setup installs all of them.
# Loopback only. Not a test: prints numbers.
#
#   tests/bench/proxy/run.sh [--quick]          (BAZEL, BAZEL_FLAGS, BENCH_DIR)
set -euo pipefail
cd "$(dirname "$0")/../../.."
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
DUR=10; CONNS=100; IDLE_N=2000; ROUNDS=3
[ $QUICK = 1 ] && DUR=3 && IDLE_N=500 && ROUNDS=1
BAZEL="${BAZEL:-bazel}"
work="${BENCH_DIR:-$(mktemp -d /tmp/pxbench.XXXXXX)}"
mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

$BAZEL build ${BAZEL_FLAGS:-} -c opt //tools/csb-proxy:csb-proxy //tests/bench/proxy:pxbench.host >&2
bin="$($BAZEL info ${BAZEL_FLAGS:-} -c opt bazel-bin 2>/dev/null)"
PROXY="$bin/tools/csb-proxy/csb-proxy"
PXB="$bin/tests/bench/proxy/pxbench.host"
for t in wrk tinyproxy; do command -v $t >/dev/null || { echo "run.sh: $t is required (apt-get install $t)" >&2; exit 69; }; done

wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "run.sh: $1 never appeared" >&2; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# ---- origins --------------------------------------------------------------------------------
"$PXB" bytes-server "$work/bytes.port" $((1 << 30)) & pids+=($!)
"$PXB" httpd "$work/httpd.port" & pids+=($!)
wait_file "$work/bytes.port"; wait_file "$work/httpd.port"
BYTES=$(cat "$work/bytes.port"); HTTPD=$(cat "$work/httpd.port")

# ---- proxies --------------------------------------------------------------------------------
cat > "$work/policy.json" <<EOF
{"cwd":"/","enforcement":"managed",
 "filesystem":{"deny_globs":[],"entries":[{"access":"read","origin":":root","path":"/"}],"include_platform_defaults":false,"kind":"restricted"},
 "legacy":{"linux_backend":"bubblewrap","projection_error":"bench","round_trips":false},
 "network":{"allow_local_binding":true,"dangerously_allow_all_unix_sockets":false,"mode":"proxy","unix_sockets":{},
   "proxy":{"domains":{"127.0.0.1":"allow","bench.test":"allow"}}},
 "platform":"linux","profile":{"extends":[],"id":"bench","kind":"named"},"schema":"csb.policy/v1",
 "summary":"bench","warnings":[],"workspace_roots":[]}
EOF
sed 's/"domains"/"mode":"limited","domains"/' "$work/policy.json" > "$work/limited.json"
echo "127.0.0.1 bench.test" > "$work/hosts"

start_csb() { # NAME POLICY ARGS... -> sets CSB_PORT, CSB_PID
  local name=$1 policy=$2; shift 2
  rm -f "$work/$name.ready"
  "$PROXY" --policy "$policy" --hosts-file "$work/hosts" --ca-dir "$work/ca" --listen 127.0.0.1:0 \
    --socks-listen 127.0.0.1:0 --ready-fd 3 "$@" 3>"$work/$name.ready" 2>"$work/$name.log" & CSB_PID=$!
  pids+=($CSB_PID)
  wait_file "$work/$name.ready"
  CSB_PORT=$(sed -E 's/.*"http":"127\.0\.0\.1:([0-9]+)".*/\1/' "$work/$name.ready")
}

start_tinyproxy() {
  local port=$((20000 + RANDOM % 20000))
  cat > "$work/tinyproxy.conf" <<EOF
Port $port
Listen 127.0.0.1
Timeout 600
MaxClients 4096
Allow 127.0.0.1
LogLevel Critical
EOF
  tinyproxy -d -c "$work/tinyproxy.conf" 2>"$work/tinyproxy.log" & TINY_PID=$!
  pids+=($TINY_PID)
  TINY_PORT=$port
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0; sleep 0.1; done
  echo "run.sh: tinyproxy did not start" >&2; exit 1
}

SRT_PORT=""
SRT_DIR=""
start_srt() {
  command -v node >/dev/null || return 0
  local peers="${CSB_PEERS_DIR:-$HOME/.cache/csb/peers}"
  if [ -d "$peers/node_modules/@anthropic-ai/sandbox-runtime/dist" ]; then
    SRT_DIR="$peers"
  else
    command -v npm >/dev/null || return 0
    SRT_DIR="$work/srt"
    if [ ! -d "$SRT_DIR/node_modules/@anthropic-ai/sandbox-runtime" ]; then
      mkdir -p "$SRT_DIR"
      (cd "$SRT_DIR" && npm i --silent @anthropic-ai/sandbox-runtime >/dev/null 2>&1) || return 0
    fi
  fi
  mkdir -p "$work/srt"
  cat > "$work/srt/proxy.mjs" <<EOF
import { createHttpProxyServer } from '$SRT_DIR/node_modules/@anthropic-ai/sandbox-runtime/dist/sandbox/http-proxy.js';
const server = createHttpProxyServer({ filter: () => true });
server.listen(0, '127.0.0.1', () => { console.log(server.address().port); });
EOF
  (cd "$work/srt" && exec node proxy.mjs > "$work/srt.port" 2>"$work/srt.log") & SRT_PID=$!
  pids+=($SRT_PID)
  wait_file "$work/srt.port"
  SRT_PORT=$(cat "$work/srt.port")
}

start_csb csb_copy "$work/policy.json" --relay copy
CSB_COPY_PORT=$CSB_PORT
start_csb csb "$work/policy.json"
start_tinyproxy
start_srt
SRT_VER=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$SRT_DIR/node_modules/@anthropic-ai/sandbox-runtime/package.json" 2>/dev/null | head -1)

best_fetch() { # [PROXY] -> best seconds of ROUNDS
  local best=""
  for _ in $(seq 1 $ROUNDS); do
    read -r bytes secs < <("$PXB" fetch 127.0.0.1:$BYTES ${1:-})
    [ "$bytes" = $((1 << 30)) ] || { echo "run.sh: short transfer ($bytes)" >&2; exit 1; }
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
  done
  echo "$best"
}
gbps() { awk "BEGIN{printf \"%.2f\", 8 * 1.073741824 / $1}"; }

echo "== 1. CONNECT tunnel throughput, 1 GiB (best of $ROUNDS) =="
d=$(best_fetch); c=$(best_fetch 127.0.0.1:$CSB_PORT); cc=$(best_fetch 127.0.0.1:$CSB_COPY_PORT)
t=$(best_fetch 127.0.0.1:$TINY_PORT)
printf "%-22s %8s s %8s Gbit/s\n" direct "$d" "$(gbps $d)"
printf "%-22s %8s s %8s Gbit/s   %s%% of direct\n" "csb-proxy (splice)" "$c" "$(gbps $c)" "$(awk "BEGIN{printf \"%.0f\", 100*$d/$c}")"
printf "%-22s %8s s %8s Gbit/s   %s%% of direct\n" "csb-proxy --relay copy" "$cc" "$(gbps $cc)" "$(awk "BEGIN{printf \"%.0f\", 100*$d/$cc}")"
printf "%-22s %8s s %8s Gbit/s   %s%% of direct\n" tinyproxy "$t" "$(gbps $t)" "$(awk "BEGIN{printf \"%.0f\", 100*$d/$t}")"
if [ -n "$SRT_PORT" ]; then
  s=$(best_fetch 127.0.0.1:$SRT_PORT)
  printf "%-22s %8s s %8s Gbit/s   %s%% of direct\n" "sandbox-runtime $SRT_VER" "$s" "$(gbps $s)" "$(awk "BEGIN{printf \"%.0f\", 100*$d/$s}")"
fi

echo "== 2. small HTTP requests/s, $CONNS keep-alive connections, ${DUR}s (wrk) =="
cat > "$work/proxy.lua" <<EOF
wrk.path = "http://127.0.0.1:$HTTPD/small"
wrk.headers["Host"] = "127.0.0.1:$HTTPD"
EOF
rps() { wrk -t2 -c$CONNS -d${DUR}s "$@" 2>/dev/null | awk '/^Requests\/sec/ {printf "%.0f", $2}'; }
r_direct=$(rps http://127.0.0.1:$HTTPD/small)
r_csb=$(rps -s "$work/proxy.lua" http://127.0.0.1:$CSB_PORT)
r_tiny=$(rps -s "$work/proxy.lua" http://127.0.0.1:$TINY_PORT)
printf "%-22s %10s req/s\n" direct "$r_direct"
printf "%-22s %10s req/s   %sx tinyproxy\n" csb-proxy "$r_csb" "$(awk "BEGIN{printf \"%.2f\", $r_csb/$r_tiny}")"
printf "%-22s %10s req/s\n" tinyproxy "$r_tiny"
if [ -n "$SRT_PORT" ]; then
  r_srt=$(rps -s "$work/proxy.lua" http://127.0.0.1:$SRT_PORT)
  printf "%-22s %10s req/s   (csb-proxy: %sx)\n" "sandbox-runtime $SRT_VER" "$r_srt" "$(awk "BEGIN{printf \"%.2f\", $r_csb/$r_srt}")"
fi

echo "== 3. MITM handshakes/s (CONNECT + TLS to the proxy, one client) =="
start_csb mitm_cached "$work/limited.json"
h_cached=$("$PXB" handshakes 127.0.0.1:$CSB_PORT bench.test:443 $DUR)
start_csb mitm_nocache "$work/limited.json" --leaf-cache 0
h_nocache=$("$PXB" handshakes 127.0.0.1:$CSB_PORT bench.test:443 $DUR)
printf "%-22s %10s /s\n" "leaf cache on" "$h_cached" "leaf cache off" "$h_nocache"

echo "== 4. memory per idle keep-alive connection ($IDLE_N connections, RSS delta) =="
idle_mem() { # NAME PID PORT
  local before after fds0 fds1 fifo="$work/idle.$1.in" out="$work/idle.$1.out"
  rm -f "$fifo" "$out"; mkfifo "$fifo"
  before=$(rss_kb "$2"); fds0=$(ls /proc/$2/fd | wc -l)
  "$PXB" idle 127.0.0.1:$3 "http://127.0.0.1:$HTTPD/x" $IDLE_N < "$fifo" > "$out" & local idle_pid=$!
  exec 7>"$fifo"
  for _ in $(seq 1 600); do grep -q ready "$out" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  after=$(rss_kb "$2"); fds1=$(ls /proc/$2/fd | wc -l)
  printf "%-22s %8.1f KiB/connection  (RSS %d -> %d KiB; open fds %d -> %d)\n" "$1" \
    "$(awk "BEGIN{print ($after-$before)/$IDLE_N}")" "$before" "$after" "$fds0" "$fds1"
  exec 7>&-
  wait "$idle_pid" 2>/dev/null || true
}
start_csb idle "$work/policy.json"
idle_mem csb-proxy "$CSB_PID" "$CSB_PORT"
idle_mem tinyproxy "$TINY_PID" "$TINY_PORT"
[ -n "$SRT_PORT" ] && idle_mem "sandbox-runtime" "$SRT_PID" "$SRT_PORT"
echo "(work dir: $work)"
