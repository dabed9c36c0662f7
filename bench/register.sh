#!/bin/sh
# REGISTER throughput of sipsrv-registrar (a benchmark, not a test): sipp's
# register + unregister scenario (tests/realclients/register.xml) at several
# rates over UDP and TCP, reporting the server's CPU per REGISTER (from
# /proc/PID/schedstat, exact) and its resident memory. 127.0.0.1 only.
#
# Then the same with digest authentication (--users, MD5): tests/registrar/
# auth.xml, four REGISTERs per call (two 401s, two 200s).
#
#   bench/register.sh [BUILD-DIR] [PAIRS]       (defaults: build, 5000)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
pairs=${2:-5000}
bin=$build/examples/sipsrv-registrar
scen=$here/../tests/realclients/register.xml
out=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$out"' EXIT
"$bin" --domain 127.0.0.1 --listen udp:127.0.0.1:0 --listen tcp:127.0.0.1:0 >"$out/srv" 2>/dev/null &
pid=$!
for _ in $(seq 1 50); do grep -q '^listening on tcp' "$out/srv" 2>/dev/null && break; sleep 0.1; done
udp=$(sed -n 's/^listening on udp port \([0-9]*\).*/\1/p' "$out/srv")
tcp=$(sed -n 's/^listening on tcp port \([0-9]*\).*/\1/p' "$out/srv")
echo "sipsrv-registrar, memory store, $pairs register+unregister pairs per run"
for t in u1 t1; do
  port=$udp; [ $t = t1 ] && port=$tcp
  for rate in 200 500 1000; do
    a=$(awk '{print $1}' "/proc/$pid/schedstat")
    if timeout 300 sipp "127.0.0.1:$port" -t $t -sf "$scen" -m "$pairs" -r "$rate" -nostdin -p 0 \
        -timeout 240s -timeout_error >/dev/null 2>&1; then ok=ok; else ok=FAILED; fi
    b=$(awk '{print $1}' "/proc/$pid/schedstat")
    printf '%s %5s pairs/s: %4d us server CPU per REGISTER (%s)\n' "$t" "$rate" \
      $(( (b - a) / (2 * pairs) / 1000 )) "$ok"
  done
done
grep VmRSS "/proc/$pid/status"
kill $pid; wait $pid 2>/dev/null || true

printf 'alice:wonder\n' >"$out/users"
"$bin" --domain 127.0.0.1 --listen udp:127.0.0.1:0 --users "$out/users" >"$out/srv" 2>/dev/null &
pid=$!
for _ in $(seq 1 50); do grep -q '^listening on udp' "$out/srv" 2>/dev/null && break; sleep 0.1; done
udp=$(sed -n 's/^listening on udp port \([0-9]*\).*/\1/p' "$out/srv")
echo "with digest authentication (MD5), $pairs calls of 4 REGISTERs per run"
for rate in 200 500; do
  a=$(awk '{print $1}' "/proc/$pid/schedstat")
  if timeout 300 sipp "127.0.0.1:$udp" -sf "$here/../tests/registrar/auth.xml" -au alice -ap wonder \
      -m "$pairs" -r "$rate" -nostdin -p 0 -timeout 240s -timeout_error >/dev/null 2>&1; then ok=ok; else ok=FAILED; fi
  b=$(awk '{print $1}' "/proc/$pid/schedstat")
  printf 'u1 %5s calls/s: %4d us server CPU per REGISTER (%s)\n' "$rate" \
    $(( (b - a) / (4 * pairs) / 1000 )) "$ok"
done
grep VmRSS "/proc/$pid/status"
