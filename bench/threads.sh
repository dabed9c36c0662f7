#!/bin/sh
# One thread against two (a benchmark, not a test): sipsrv-server as a
# stateful proxy with --threads 1, then --threads 2 (a loop group: both
# threads' sockets on one UDP port, each datagram handled by the thread
# owning its Call-ID), at each offered rate; sipp calls through it to a
# registered sipp callee over UDP (or TCP) on 127.0.0.1. Prints per point the calls,
# failed calls, the server's CPU per call (all its threads, from
# /proc/PID/task/*/schedstat), the wall time and how many datagrams changed
# threads.
#
#   bench/threads.sh [BUILD-DIR]          (default: build)
#
# Environment: THREADS_RATES ("2000 4000 6000 8000" calls/s),
# THREADS_SECONDS (5 s per point), THREADS_MODE (stateful|dialog|stateless),
# THREADS_TRANSPORT (udp; tcp: caller and callee each on one TCP connection,
# whose calls both threads handle).
# On a 2-core machine sipp needs a core of its own: the maximum rate there
# is the machine's, not the server's (bench/README.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
srv_bin=$build/examples/sipsrv-server
rates=${THREADS_RATES:-2000 4000 6000 8000}
secs=${THREADS_SECONDS:-5}
mode=${THREADS_MODE:-stateful}
tp=${THREADS_TRANSPORT:-udp}
# Over TCP, sipp's own uac and uas: its transaction matching of our
# scenarios (response_txn) misses BYE's 200 on a connection; a connection
# keeps each call's messages in order, so no reordering to tolerate.
case $tp in
  udp) st=u1 ctp= uas="-sf $here/scenarios/uas-call.xml" uac="-sf $here/scenarios/uac-call.xml" ;;
  tcp) st=t1 ctp=";transport=tcp" uas="-sn uas" uac="-sn uac" ;;
  *) echo "threads.sh: THREADS_TRANSPORT is udp or tcp" >&2; exit 2 ;;
esac
out=$(mktemp -d)
pids=

[ -x "$srv_bin" ] || { echo "threads.sh: no $srv_bin; build first" >&2; exit 2; }
command -v sipp >/dev/null 2>&1 || { echo "threads.sh: needs sipp (Debian sip-tester)" >&2; exit 2; }

stop_all() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  pids=
}
trap 'stop_all; rm -rf "$out"' EXIT INT TERM

free_port() {  # a port nothing is bound to, UDP or TCP
  for _ in $(seq 1 50); do
    p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
    grep -qi "$(printf ':%04X ' "$p")" /proc/net/udp /proc/net/tcp 2>/dev/null ||
      { echo "$p"; return; }
  done
  echo "threads.sh: no free port" >&2
  exit 1
}

cpu_ns() {
  cat "/proc/$1/task/"*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

point() {  # point THREADS RATE
  t=$1 rate=$2
  n=$((rate * secs))
  cport=$(free_port)
  # shellcheck disable=SC2086
  sipp $uas -i 127.0.0.1 -p "$cport" -t "$st" -s callee -nostdin \
    -timer_resol 1 -buff_size 4194304 >"$out/callee.log" 2>&1 &
  callee=$!
  pids="$pids $callee"
  port=$(free_port)
  "$srv_bin" --threads "$t" --mode "$mode" --domain 127.0.0.1 --listen "udp:127.0.0.1:$port" \
    --listen "tcp:127.0.0.1:$port" >"$out/srv.log" 2>&1 &
  srv=$!
  pids="$pids $srv"
  i=0
  while ! grep -q '^listening on tcp' "$out/srv.log" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
  done
  if ! (cd "$out" && sipp "127.0.0.1:$port" -sf "$here/../tests/proxy/register-contact.xml" -s callee \
      -key contact "sip:callee@127.0.0.1:$cport$ctp" -i 127.0.0.1 -p 0 -m 1 -nostdin \
      -recv_timeout 5000 >/dev/null 2>&1); then
    echo "threads.sh: registering the callee failed" >&2
    exit 1
  fi
  c0=$(cpu_ns "$srv")
  t0=$(date +%s%N)
  rc=0
  # shellcheck disable=SC2086
  (cd "$out" && timeout $((secs * 3 + 60)) sipp "127.0.0.1:$port" $uac \
    -t "$st" -s callee -i 127.0.0.1 -p 0 -m "$n" -r "$rate" -l "$n" -nostdin -timer_resol 1 \
    -buff_size 4194304 -recv_timeout 5000 -trace_stat -stf stat.csv >sipp.out 2>&1) || rc=$?
  t1=$(date +%s%N)
  c1=$(cpu_ns "$srv")
  failed=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "FailedCall(C)") c = i; next }
    { v = $c } END { print (c && v != "") ? v : "?" }' "$out/stat.csv" 2>/dev/null || echo "?")
  kill -USR1 "$srv" 2>/dev/null || true
  sleep 0.3
  handed=$(sed -n 's/.*handed over \([0-9]*\).*/\1/p' "$out/srv.log" | tail -n 1)
  awk -v t="$t" -v r="$rate" -v n="$n" -v f="$failed" -v rc="$rc" -v a="$c0" -v b="$c1" \
    -v w0="$t0" -v w1="$t1" -v h="${handed:--}" 'BEGIN {
      printf "threads %d  %5d calls/s  %6d calls  failed %s  %7.1f us/call  wall %5.1f s  handed over %s%s\n",
        t, r, n, f, (b - a) / 1000 / n, (w1 - w0) / 1e9, h, rc == 0 ? "" : "  (sipp exit " rc ")" }'
  stop_all
}

echo "sipsrv-server --mode $mode, $secs s per point, $tp on 127.0.0.1, $(nproc) CPUs"
for rate in $rates; do
  for t in 1 2; do
    point "$t" "$rate"
  done
done
