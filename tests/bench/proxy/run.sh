#!/bin/bash
# Benchmarks csb-proxy side by side with a direct loopback transfer, the
# smallest possible relays, tinyproxy and sandbox-runtime's HTTP proxy, in
# one run (see README.md in this directory for what each number means):
#
#   1. CONNECT tunnel throughput for 1 GiB: wall time and CPU seconds per GiB
#      of every process involved (goal: >= 90% of direct; see README.md for
#      why a 2-CPU machine cannot get there and what is compared instead)
#   2. small HTTP requests/s, 100 keep-alive connections, wrk (goal: >= 2x
#      tinyproxy, ahead of sandbox-runtime)
#   3. MITM handshakes/s with and without the leaf cache
#   4. memory per idle keep-alive connection (goal: < 16 KiB) and per idle
#      CONNECT tunnel
#   5. CONNECT tunnel throughput when a network link, not the loopback CPU,
#      bounds the transfer: the origin sits in a network namespace behind a
#      veth pair shaped with tbf, at a few link rates (root only; skipped
#      with the reason otherwise)
#   6. the host check with 80,000 domain rules: evaluations/s and ns per
#      evaluation with the index csb_netpolicy_finish builds and with the
#      linear scan of every rule (hostbench; needs none of the peers)
#
# Every figure is the median of ROUNDS runs taken in turn (peers side by
# side in each round); ratios are medians of the per-round ratios.
#
# Needs: bazel, wrk and tinyproxy, and node for sandbox-runtime (./dev.sh
# setup installs all of them). sandbox-runtime is found through SRT (its
# `srt` executable or package directory), else as `srt` on PATH, in the peers
# ./dev.sh setup installs ($CSB_PEERS_DIR, default ~/.cache/csb/peers), in
# ./node_modules/.bin or ~/node_modules/.bin, else installed with `npm i
# @anthropic-ai/sandbox-runtime` into the work directory when npm exists.
# Loopback only, but for section 5's veth pair (a private /30 that is checked
# to be unused, in a namespace of its own, removed on every exit). Not a
# test: prints numbers.
#
#   tests/bench/proxy/run.sh [--quick] [--only 1,2,3,4,5,6]
#   environment: BAZEL, BAZEL_FLAGS, BENCH_DIR, ROUNDS, SRT, CSB_PROXY_BIN (another
#   csb-proxy binary to measure instead of the one built from this tree),
#   LINK_RATES (section 5's link rates in Mbit/s, default "1000 5000 7500 10000")
set -euo pipefail
cd "$(dirname "$0")/../../.."
QUICK=0 ONLY=1,2,3,4,5,6
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY="$2"; shift ;;
    *) echo "usage: run.sh [--quick] [--only 1,2,3,4,5,6]" >&2; exit 64 ;;
  esac
  shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
DUR=10; CONNS=100; IDLE_N=2000; RPS_ROUNDS=3; DEFAULT_ROUNDS=5; LINK_SECS=2
if [ $QUICK = 1 ]; then DUR=3; IDLE_N=500; RPS_ROUNDS=1; DEFAULT_ROUNDS=3; LINK_SECS=1; fi
ROUNDS=${ROUNDS:-$DEFAULT_ROUNDS}
GIB=$((1 << 30))
BAZEL="${BAZEL:-bazel}"
work="${BENCH_DIR:-$(mktemp -d /tmp/pxbench.XXXXXX)}"
mkdir -p "$work"
pids=()
LINK_NS="" LINK_HOST_DEV=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  link_down
}
# section 5's namespace, veth pair and qdiscs (deleting the host end deletes
# the pair and the qdiscs of both ends); safe to call when none exist
link_down() {
  if [ -n "$LINK_HOST_DEV" ]; then
    tc qdisc del dev "$LINK_HOST_DEV" root 2>/dev/null || true
    ip link del "$LINK_HOST_DEV" 2>/dev/null || true
    LINK_HOST_DEV=""
  fi
  if [ -n "$LINK_NS" ]; then ip netns del "$LINK_NS" 2>/dev/null || true; LINK_NS=""; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

$BAZEL build ${BAZEL_FLAGS:-} -c opt //tools/csb-proxy:csb-proxy //tests/bench/proxy:pxbench.host \
  //tests/bench/proxy:hostbench >&2
bin="$($BAZEL info ${BAZEL_FLAGS:-} -c opt bazel-bin 2>/dev/null)"
PROXY="${CSB_PROXY_BIN:-$bin/tools/csb-proxy/csb-proxy}"
PXB="$bin/tests/bench/proxy/pxbench.host"

# ---- 6. host policy (a program of its own: no origins, proxies or peers) ---------------------
host_policy() {
  echo
  echo "== 6. host check with 80,000 domain rules: index vs linear scan (median of $ROUNDS rounds) =="
  "$bin/tests/bench/proxy/hostbench" --rounds "$ROUNDS" --min-secs "$([ $QUICK = 1 ] && echo 0.1 || echo 0.3)"
}
if [ "$ONLY" = 6 ]; then
  echo "csb-proxy benchmark: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  host_policy
  exit 0
fi
for t in wrk tinyproxy; do command -v $t >/dev/null || { echo "run.sh: $t is required (apt-get install $t)" >&2; exit 69; }; done

wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "run.sh: $1 never appeared" >&2; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)
# CPU seconds (user + system, with reaped children) of a process so far
cpu_s() { awk -v hz="$HZ" '{print ($14 + $15 + $16 + $17) / hz}' "/proc/$1/stat"; }
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
calc() { awk "BEGIN {printf \"$1\", $2}"; }

echo "csb-proxy benchmark: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds"

# ---- origins and relays ----------------------------------------------------------------------
"$PXB" bytes-server "$work/bytes.port" $GIB & SRV_PID=$!; pids+=($!)
"$PXB" httpd "$work/httpd.port" & pids+=($!)
"$PXB" relay "$work/ideal_splice.port" splice & IDEAL_SPLICE_PID=$!; pids+=($!)
"$PXB" relay "$work/ideal_copy.port" copy & IDEAL_COPY_PID=$!; pids+=($!)
for f in bytes httpd ideal_splice ideal_copy; do wait_file "$work/$f.port"; done
BYTES=$(cat "$work/bytes.port"); HTTPD=$(cat "$work/httpd.port")

# ---- proxies ----------------------------------------------------------------------------------
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

# sandbox-runtime's HTTP proxy on its own: the same createHttpProxyServer
# that srt runs in its host process, with a filter that allows everything
# (srt's own filter does domain matching on top, so this favours srt). The
# sandbox itself (bubblewrap, socat bridges, ripgrep) is not involved.
SRT_PORT="" SRT_VER=""
find_srt_pkg() {
  local s="${SRT:-}" c peers="${CSB_PEERS_DIR:-$HOME/.cache/csb/peers}"
  if [ -z "$s" ]; then
    for c in "$(command -v srt 2>/dev/null || true)" "$peers/node_modules/.bin/srt" "$PWD/node_modules/.bin/srt" \
             "$HOME/node_modules/.bin/srt"; do
      if [ -n "$c" ] && [ -x "$c" ]; then s="$c"; break; fi
    done
  fi
  if [ -n "$s" ]; then
    s="$(readlink -f "$s")"
    [ -f "$s" ] && s="$(dirname "$(dirname "$s")")" # .../dist/cli.js -> package
    [ -f "$s/dist/sandbox/http-proxy.js" ] && { echo "$s"; return 0; }
    echo "run.sh: SRT=$s is not a sandbox-runtime package" >&2
    return 1
  fi
  command -v npm >/dev/null || return 1
  if [ ! -d "$work/srt/node_modules/@anthropic-ai/sandbox-runtime" ]; then
    mkdir -p "$work/srt"
    (cd "$work/srt" && npm i --silent @anthropic-ai/sandbox-runtime >/dev/null 2>&1) || return 1
  fi
  echo "$work/srt/node_modules/@anthropic-ai/sandbox-runtime"
}
start_srt() {
  command -v node >/dev/null || { echo "(sandbox-runtime skipped: no node)"; return 0; }
  local pkg
  pkg="$(find_srt_pkg)" || { echo "(sandbox-runtime skipped: set SRT to its srt executable)"; return 0; }
  SRT_VER=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -1)
  cat > "$work/srt-proxy.mjs" <<'EOF'
const { createHttpProxyServer } = await import(process.argv[2] + '/dist/sandbox/http-proxy.js');
const server = createHttpProxyServer({ filter: () => true });
server.listen(0, '127.0.0.1', () => { console.log(server.address().port); });
EOF
  rm -f "$work/srt.port"
  node "$work/srt-proxy.mjs" "$pkg" > "$work/srt.port" 2>"$work/srt.log" & SRT_PID=$!
  pids+=($SRT_PID)
  wait_file "$work/srt.port"
  SRT_PORT=$(cat "$work/srt.port")
}

start_csb csb_copy "$work/policy.json" --relay copy
CSB_COPY_PORT=$CSB_PORT CSB_COPY_PID=$CSB_PID
start_csb csb "$work/policy.json"
CSB_MAIN_PORT=$CSB_PORT CSB_MAIN_PID=$CSB_PID
start_tinyproxy
start_srt

# ---- 1. tunnel throughput ----------------------------------------------------------------------
# rows: label|relay pid|relay port (empty for direct)
rows=("direct||"
      "ideal relay (splice)|$IDEAL_SPLICE_PID|$(cat "$work/ideal_splice.port")"
      "ideal relay (copy)|$IDEAL_COPY_PID|$(cat "$work/ideal_copy.port")"
      "csb-proxy|$CSB_MAIN_PID|$CSB_MAIN_PORT"
      "csb-proxy --relay copy|$CSB_COPY_PID|$CSB_COPY_PORT"
      "tinyproxy|$TINY_PID|$TINY_PORT")
[ -n "$SRT_PORT" ] && rows+=("sandbox-runtime $SRT_VER|$SRT_PID|$SRT_PORT")

# The origin of sections 1 and 5: ORIGIN (address:port), ORIGIN_PID, NBYTES (what it sends)
ORIGIN=127.0.0.1:$BYTES ORIGIN_PID=$SRV_PID NBYTES=$GIB
fetch_once() { # FILE RELAY_PID PORT -> appends "wall client server relay" (CPU s per GiB) to FILE
  local s0 r0=0 s1 r1=0 bytes secs ccpu per_gib
  s0=$(cpu_s "$ORIGIN_PID"); [ -n "$2" ] && r0=$(cpu_s "$2")
  read -r bytes secs ccpu < <("$PXB" fetch "$ORIGIN" ${3:+127.0.0.1:$3})
  s1=$(cpu_s "$ORIGIN_PID"); [ -n "$2" ] && r1=$(cpu_s "$2")
  [ "$bytes" = "$NBYTES" ] || { echo "run.sh: short transfer ($bytes of $NBYTES bytes) for ${1##*/}" >&2; exit 1; }
  per_gib=$(calc %.6f "$GIB / $NBYTES")
  echo "$secs $(calc %.3f "$ccpu * $per_gib") $(calc %.3f "($s1 - $s0) * $per_gib")" \
    "$(calc %.3f "($r1 - $r0) * $per_gib")" >> "$1"
}
col() { awk -v c="$2" '{print $c}' "$1" | median; }
ratio_col() { paste -d' ' "$1" "$2" | awk -v a="$3" -v b="$4" '{print $a / $b}' | median; }
tp_rounds() { # ROWS_ARRAY FILE_PREFIX: ROUNDS rounds, every row once in each, each round starting at another row
  local -n rws=$1
  local r k i rpid rport
  rm -f "$2".*
  for r in $(seq 0 $((ROUNDS - 1))); do
    for k in "${!rws[@]}"; do
      i=$(((k + r) % ${#rws[@]}))
      IFS='|' read -r _ rpid rport <<< "${rws[$i]}"
      fetch_once "$2.$i" "$rpid" "$rport"
    done
  done
}
tp_table() { # ROWS_ARRAY FILE_PREFIX (row 0 is direct)
  local -n rws=$1
  local i label rport f w c s r pct t
  printf "%-26s %7s %7s %8s   %6s %6s %6s %6s\n" "" "wall s" "Gbit/s" "%direct" client server relay total
  for i in "${!rws[@]}"; do
    IFS='|' read -r label _ rport <<< "${rws[$i]}"
    f="$2.$i"
    w=$(col "$f" 1) c=$(col "$f" 2) s=$(col "$f" 3) r=$(col "$f" 4)
    pct=$(calc %.0f "100 * $(ratio_col "$2.0" "$f" 1 5)")
    t=$(calc %.2f "$c + $s + $r")
    if [ -z "$rport" ]; then r=-; else r=$(calc %.2f "$r"); fi
    printf "%-26s %7.3f %7.2f %7s%%   %6.2f %6.2f %6s %6.2f\n" "$label" "$w" "$(calc %.2f "$NBYTES * 8e-9 / $w")" \
      "$pct" "$c" "$s" "$r" "$t"
  done
}

if want 1; then
  echo
  echo "== 1. CONNECT tunnel, 1 GiB (median of $ROUNDS rounds; CPU = user+sys seconds per GiB) =="
  tp_rounds rows "$work/tp"
  tp_table rows "$work/tp"
  d_cpu=$(calc %.3f "$(col "$work/tp.0" 2) + $(col "$work/tp.0" 3)")
  i_cpu=$(calc %.3f "$(col "$work/tp.1" 2) + $(col "$work/tp.1" 3) + $(col "$work/tp.1" 4)")
  echo "csb-proxy vs the ideal splice relay: $(calc %.0f "100 * $(ratio_col "$work/tp.1" "$work/tp.3" 1 5)")% of its" \
    "throughput, relay CPU $(calc %.2f "$(col "$work/tp.3" 4) / $(col "$work/tp.1" 4)")x"
  echo "bound here: a direct GiB costs ${d_cpu} CPU s (2 processes), a relayed one ${i_cpu} even with the ideal" \
    "relay (3 processes);"
  echo "  once the CPUs are saturated throughput follows 1/CPU, so no relay can exceed" \
    "~$(calc %.0f "100 * $d_cpu / $i_cpu")% of direct on this machine (README.md)"
fi

# ---- 2. small requests ----------------------------------------------------------------------
if want 2; then
  echo
  echo "== 2. small HTTP requests/s, $CONNS keep-alive connections, ${DUR}s wrk runs (median of $RPS_ROUNDS) =="
  cat > "$work/proxy.lua" <<EOF
wrk.path = "http://127.0.0.1:$HTTPD/small"
wrk.headers["Host"] = "127.0.0.1:$HTTPD"
EOF
  rrows=("direct||" "csb-proxy|$CSB_MAIN_PID|$CSB_MAIN_PORT" "tinyproxy|$TINY_PID|$TINY_PORT")
  [ -n "$SRT_PORT" ] && rrows+=("sandbox-runtime $SRT_VER|$SRT_PID|$SRT_PORT")
  rm -f "$work"/rps.*
  for _ in $(seq 1 $RPS_ROUNDS); do
    for i in "${!rrows[@]}"; do
      IFS='|' read -r _ rpid rport <<< "${rrows[$i]}"
      p0=0 p1=0
      [ -n "$rpid" ] && p0=$(cpu_s "$rpid")
      if [ -z "$rport" ]; then
        out=$(wrk -t2 -c$CONNS -d${DUR}s http://127.0.0.1:$HTTPD/small 2>/dev/null)
      else
        out=$(wrk -t2 -c$CONNS -d${DUR}s -s "$work/proxy.lua" http://127.0.0.1:$rport 2>/dev/null)
      fi
      [ -n "$rpid" ] && p1=$(cpu_s "$rpid")
      rps=$(awk '/^Requests\/sec/ {print $2}' <<< "$out")
      n=$(awk '/requests in/ {print $1}' <<< "$out"); n=${n:-0}
      errs=$(awk '/Non-2xx|Socket errors/' <<< "$out")
      [ -n "$errs" ] && echo "  ${rrows[$i]%%|*}: $errs" >&2
      echo "$rps $(calc %.2f "1e6 * ($p1 - $p0) / ($n > 0 ? $n : 1)")" >> "$work/rps.$i"
    done
  done
  printf "%-26s %10s %14s\n" "" "req/s" "proxy CPU us/req"
  for i in "${!rrows[@]}"; do
    IFS='|' read -r label _ rport <<< "${rrows[$i]}"
    us=$(col "$work/rps.$i" 2); [ -z "$rport" ] && us=-
    printf "%-26s %10.0f %14s\n" "$label" "$(col "$work/rps.$i" 1)" "$us"
  done
  echo "csb-proxy: $(calc %.2f "$(ratio_col "$work/rps.1" "$work/rps.2" 1 3)")x tinyproxy (goal >= 2x)"
  [ -n "$SRT_PORT" ] && echo "csb-proxy: $(calc %.2f "$(ratio_col "$work/rps.1" "$work/rps.3" 1 3)")x sandbox-runtime (goal > 1x)"
fi

# ---- 3. MITM handshakes ----------------------------------------------------------------------
if want 3; then
  echo
  echo "== 3. MITM handshakes/s: CONNECT + TLS to the proxy, one client, ${DUR}s runs (median of $RPS_ROUNDS) =="
  start_csb mitm_cached "$work/limited.json"; MC_PID=$CSB_PID MC_PORT=$CSB_PORT
  start_csb mitm_nocache "$work/limited.json" --leaf-cache 0; MN_PID=$CSB_PID MN_PORT=$CSB_PORT
  rm -f "$work"/hs.*
  for _ in $(seq 1 $RPS_ROUNDS); do
    for v in MC MN; do
      pid_var=${v}_PID port_var=${v}_PORT
      p0=$(cpu_s "${!pid_var}")
      h=$("$PXB" handshakes 127.0.0.1:${!port_var} bench.test:443 $DUR)
      p1=$(cpu_s "${!pid_var}")
      echo "$h $(calc %.0f "1e6 * ($p1 - $p0) / ($h * $DUR)")" >> "$work/hs.$v"
    done
  done
  printf "%-26s %10s %18s\n" "" "/s" "proxy CPU us/each"
  printf "%-26s %10.1f %18s\n" "leaf cache on" "$(col "$work/hs.MC" 1)" "$(col "$work/hs.MC" 2)"
  printf "%-26s %10.1f %18s\n" "leaf cache off" "$(col "$work/hs.MN" 1)" "$(col "$work/hs.MN" 2)"
fi

# ---- 4. idle memory ----------------------------------------------------------------------------
if want 4; then
  echo
  echo "== 4. memory per idle connection ($IDLE_N connections, RSS delta; goal < 16 KiB) =="
  idle_mem() { # LABEL PID PORT MODE(idle|idle-tunnel)
    local before after fds0 fds1 pipes fifo="$work/idle.in" out="$work/idle.out"
    rm -f "$fifo" "$out"; mkfifo "$fifo"
    before=$(rss_kb "$2"); fds0=$(ls /proc/$2/fd | wc -l)
    "$PXB" "$4" 127.0.0.1:$3 "http://127.0.0.1:$HTTPD/x" $IDLE_N < "$fifo" > "$out" & local idle_pid=$!
    exec 7>"$fifo"
    for _ in $(seq 1 600); do
      grep -q ready "$out" 2>/dev/null && break
      kill -0 "$idle_pid" 2>/dev/null || { echo "run.sh: $1: the idle client failed" >&2; break; }
      sleep 0.1
    done
    sleep 0.5
    after=$(rss_kb "$2"); fds1=$(ls /proc/$2/fd | wc -l)
    pipes=$(find /proc/$2/fd -lname 'pipe:*' 2>/dev/null | wc -l)
    if [ $((fds1 - fds0)) -lt $((IDLE_N / 2)) ]; then
      printf "%-34s %11s  (closes idle connections: descriptors %d -> %d)\n" "$1" "n/a" "$fds0" "$fds1"
    else
      printf "%-34s %7.1f KiB  (RSS %d -> %d KiB; descriptors %d -> %d, %d of them pipes)\n" "$1" \
        "$(calc %.1f "($after - $before) / $IDLE_N")" "$before" "$after" "$fds0" "$fds1" "$pipes"
    fi
    exec 7>&-
    wait "$idle_pid" 2>/dev/null || true
  }
  start_csb idle "$work/policy.json" --max-connections $((IDLE_N + 100))
  idle_mem "csb-proxy keep-alive" "$CSB_PID" "$CSB_PORT" idle
  idle_mem "tinyproxy keep-alive" "$TINY_PID" "$TINY_PORT" idle
  [ -n "$SRT_PORT" ] && idle_mem "sandbox-runtime keep-alive" "$SRT_PID" "$SRT_PORT" idle
  start_csb idle_tunnel "$work/policy.json" --max-connections $((IDLE_N + 100))
  idle_mem "csb-proxy CONNECT tunnel" "$CSB_PID" "$CSB_PORT" idle-tunnel
  idle_mem "tinyproxy CONNECT tunnel" "$TINY_PID" "$TINY_PORT" idle-tunnel
  [ -n "$SRT_PORT" ] && idle_mem "sandbox-runtime CONNECT tunnel" "$SRT_PID" "$SRT_PORT" idle-tunnel
fi

# ---- 5. tunnel over a shaped link -------------------------------------------------------------
# The origin runs in a network namespace of its own, reached over a veth pair
# whose two ends are shaped with tbf (a full-duplex link of RATE each way; the
# data flows from the namespace, the requests and ACKs towards it). The client,
# the relays and csb-proxy stay on the host, on loopback as in section 1.
link_pick_net() { # prints the first 10.231.N (N = 77..96) whose .0/30 no address or route here touches
  local n p
  for n in $(seq 77 96); do
    p=10.231.$n.0/30
    [ -z "$(ip -4 -o addr show to "$p")" ] || continue
    [ -z "$(ip -4 route show table all match "$p" | grep -v '^default')" ] || continue
    [ -z "$(ip -4 route show table all root "$p")" ] || continue
    echo 10.231.$n; return 0
  done
  return 1
}
link_shape() { # DEV MBIT [NETNS]: tbf at MBIT Mbit/s, 1 ms of it as burst (at least 128 KiB), 20 ms queue
  local burst=$(($2 * 125)); [ $burst -lt 131072 ] && burst=131072
  ${3:+ip netns exec "$3"} tc qdisc replace dev "$1" root tbf rate "${2}mbit" burst "$burst" latency 20ms
}
link_mib() { # MBIT -> MiB per transfer: about LINK_SECS seconds of the link, at most 1 GiB
  local m=$(($1 * LINK_SECS / 8)); echo $((m < 1024 ? m : 1024))
}
LINK_SKIP=""
link_up() { # -> LINK_NS, LINK_HOST_DEV, LINK_ORIGIN_ADDR, or LINK_SKIP set and status 1
  local net ns_dev err
  [ "$(id -u)" = 0 ] || { LINK_SKIP="needs root (network namespace, veth, tc)"; return 1; }
  command -v ip >/dev/null && command -v tc >/dev/null || { LINK_SKIP="needs ip and tc (iproute2)"; return 1; }
  net=$(link_pick_net) || { LINK_SKIP="every 10.231.N.0/30 (N = 77..96) is in use here"; return 1; }
  err=$(ip netns add "pxbench$$" 2>&1) || { LINK_SKIP="cannot create a network namespace: $err"; return 1; }
  LINK_NS=pxbench$$
  ns_dev=pxb$$n
  err=$(ip link add "pxb$$h" type veth peer name "$ns_dev" netns "$LINK_NS" 2>&1) \
    || { LINK_SKIP="cannot create a veth pair: $err"; return 1; }
  LINK_HOST_DEV=pxb$$h
  ip addr add "$net.1/30" dev "$LINK_HOST_DEV" && ip link set "$LINK_HOST_DEV" up \
    && ip -n "$LINK_NS" addr add "$net.2/30" dev "$ns_dev" && ip -n "$LINK_NS" link set "$ns_dev" up \
    && ip -n "$LINK_NS" link set lo up || { LINK_SKIP="cannot configure the veth pair"; return 1; }
  err=$(link_shape "$LINK_HOST_DEV" 1000 2>&1) || { LINK_SKIP="no tbf qdisc: $err"; return 1; }
  err=$(link_shape "$ns_dev" 1000 "$LINK_NS" 2>&1) || { LINK_SKIP="no tbf qdisc: $err"; return 1; }
  LINK_NS_DEV=$ns_dev LINK_ORIGIN_ADDR=$net.2
}

if want 5; then
  LINK_RATES=${LINK_RATES:-1000 5000 7500 10000}
  echo
  echo "== 5. CONNECT tunnel over a shaped link: origin in a network namespace, veth + tbf (median of $ROUNDS rounds;" \
    "CPU = user+sys seconds per GiB) =="
  if ! link_up; then
    echo "(section 5 skipped: ${LINK_SKIP%%$'\n'*})"
    link_down
  else
    mtu=$(cat "/sys/class/net/$LINK_HOST_DEV/mtu")
    echo "veth $LINK_HOST_DEV <-> $LINK_ORIGIN_ADDR in netns $LINK_NS, MTU $mtu; tbf counts whole frames, so TCP" \
      "payload gets at most $(calc %.1f "100 * ($mtu - 52) / ($mtu + 14)")% of the rate"
    sed "s/\"127.0.0.1\":\"allow\"/&,\"$LINK_ORIGIN_ADDR\":\"allow\"/" "$work/policy.json" > "$work/link.json"
    start_csb csb_link "$work/link.json"
    lrows=("direct||"
           "ideal relay (splice)|$IDEAL_SPLICE_PID|$(cat "$work/ideal_splice.port")"
           "csb-proxy|$CSB_PID|$CSB_PORT")
    # one origin per rate
    declare -A link_pid
    for mbit in $LINK_RATES; do
      mib=$(link_mib "$mbit")
      rm -f "$work/link$mbit.port"
      ip netns exec "$LINK_NS" "$PXB" bytes-server "$work/link$mbit.port" $((mib << 20)) "$LINK_ORIGIN_ADDR" &
      link_pid[$mbit]=$!; pids+=($!)
    done
    summary=""
    for mbit in $LINK_RATES; do
      mib=$(link_mib "$mbit")
      NBYTES=$((mib << 20)) ORIGIN_PID=${link_pid[$mbit]}
      wait_file "$work/link$mbit.port"
      ORIGIN=$LINK_ORIGIN_ADDR:$(cat "$work/link$mbit.port")
      link_shape "$LINK_HOST_DEV" "$mbit"
      link_shape "$LINK_NS_DEV" "$mbit" "$LINK_NS"
      echo
      short=""; [ "$mib" -lt 1024 ] && short=" (less than 1 GiB to keep the section short)"
      echo "-- link $mbit Mbit/s, $mib MiB per transfer$short"
      tp_rounds lrows "$work/link$mbit"
      tp_table lrows "$work/link$mbit"
      pct=$(calc %.0f "100 * $(ratio_col "$work/link$mbit.0" "$work/link$mbit.2" 1 5)")
      summary+="${summary:+, }$pct% at $mbit Mbit/s"
    done
    echo
    echo "csb-proxy, % of a direct transfer over the same link: $summary"
  fi
fi
if want 6; then host_policy; fi
echo "(work dir: $work)"
