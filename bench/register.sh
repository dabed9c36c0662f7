#!/bin/sh
# REGISTER throughput of sipsrv-registrar (a benchmark, not a test): sipp's
# register + unregister scenario (tests/realclients/register.xml) at several
# rates over UDP and TCP, reporting the server's CPU per REGISTER (from
# /proc/PID/schedstat, exact) and its resident memory. 127.0.0.1 only.
#
# Then the same on the SQLite store (durable: each 200 waits for its commit's
# sync, so the wall time per REGISTER includes an fsync the CPU figure does
# not show), and with digest authentication (--users, MD5):
# tests/registrar/auth.xml, four REGISTERs per call (two 401s, two 200s).
#
#   bench/register.sh [BUILD-DIR] [PAIRS]       (defaults: build, 5000)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
pairs=${2:-5000}
bin=$build/examples/sipsrv-registrar
scen=$here/../tests/realclients/register.xml
out=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null; rm -rf "$out"' EXIT

serve() {  # serve ARGS...: start the registrar on free ports; sets pid, udp, tcp
  "$bin" --domain 127.0.0.1 --listen udp:127.0.0.1:0 --listen tcp:127.0.0.1:0 "$@" \
    >"$out/srv" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 50); do grep -q '^listening on tcp' "$out/srv" 2>/dev/null && break; sleep 0.1; done
  udp=$(sed -n 's/^listening on udp port \([0-9]*\).*/\1/p' "$out/srv")
  tcp=$(sed -n 's/^listening on tcp port \([0-9]*\).*/\1/p' "$out/srv")
}

unserve() {
  grep VmRSS "/proc/$pid/status"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=
}

# measure T RATE REGISTERS-PER-CALL SIPP-ARGS...: one sipp run, one line
measure() {
  t=$1 rate=$2 per=$3; shift 3
  port=$udp; [ "$t" = t1 ] && port=$tcp
  a=$(awk '{print $1}' "/proc/$pid/schedstat")
  s=$(date +%s%N)
  if timeout 300 sipp "127.0.0.1:$port" -t "$t" -m "$pairs" -r "$rate" -nostdin -p 0 \
      -timeout 240s -timeout_error "$@" >/dev/null 2>&1; then ok=ok; else ok=FAILED; fi
  e=$(date +%s%N)
  b=$(awk '{print $1}' "/proc/$pid/schedstat")
  printf '%s %5s calls/s: %4d us server CPU per REGISTER, %d REGISTER/s achieved (%s)\n' "$t" \
    "$rate" $(( (b - a) / (per * pairs) / 1000 )) $(( per * pairs * 1000000000 / (e - s) )) "$ok"
}

echo "sipsrv-registrar, memory store, $pairs register+unregister pairs per run"
serve
for t in u1 t1; do
  for rate in 200 500 1000; do measure $t $rate 2 -sf "$scen"; done
done
unserve

echo "SQLite store (durable), $pairs register+unregister pairs per run"
serve --store "sqlite:$out/bench.db"
for rate in 200 500 1000; do measure u1 $rate 2 -sf "$scen"; done
unserve

printf 'alice:wonder\n' >"$out/users"
echo "with digest authentication (MD5), $pairs calls of 4 REGISTERs per run"
serve --users "$out/users"
for rate in 200 500; do
  measure u1 $rate 4 -sf "$here/../tests/registrar/auth.xml" -au alice -ap wonder
done
unserve
