#!/bin/sh
# Calls through the proxy examples (a benchmark, not a test): sipp's built-in
# uac -> proxy -> sipp's built-in uas, for sipsrv-stateless-proxy and for
# sipsrv-proxy in each mode, at several rates over UDP, reporting the
# proxy's CPU per call (from /proc/PID/schedstat; a call is INVITE, 100,
# 180, 200, ACK, BYE, 200 through the proxy), sipp's failed calls, and the
# proxy's resident memory after the runs. 127.0.0.1 only.
#
#   bench/proxy.sh [BUILD-DIR] [CALLS]       (defaults: build, 5000)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
calls=${2:-5000}
proxy=$build/examples/sipsrv-proxy
slproxy=$build/examples/sipsrv-stateless-proxy
out=$(mktemp -d)
pid=
callee=
trap 'kill $pid $callee 2>/dev/null; rm -rf "$out"' EXIT

# The callee: a sipp uas on a free port.
for _ in $(seq 1 20); do
  cport=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
  sipp -sn uas -i 127.0.0.1 -p "$cport" -nostdin >/dev/null 2>&1 &
  callee=$!
  sleep 0.3
  kill -0 "$callee" 2>/dev/null && break
done

serve() {  # serve BINARY ARGS...: start a proxy on a free UDP port; sets pid, udp
  bin=$1; shift
  "$bin" "$@" --listen udp:127.0.0.1:0 >"$out/srv" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 50); do grep -q '^listening on udp' "$out/srv" 2>/dev/null && break; sleep 0.1; done
  udp=$(sed -n 's/^listening on udp port \([0-9]*\).*/\1/p' "$out/srv")
}

unserve() {
  printf '  '; grep VmRSS "/proc/$pid/status"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

measure() {  # measure NAME RATE
  a=$(awk '{print $1}' "/proc/$pid/schedstat")
  timeout 600 sipp "127.0.0.1:$udp" -sn uac -s service -m "$calls" -r "$2" -l 2000 -nostdin -p 0 \
    -timeout 300s -trace_screen -screen_file "$out/screen" >/dev/null 2>&1 || true
  b=$(awk '{print $1}' "/proc/$pid/schedstat")
  failed=$(sed -n 's/^ *Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' "$out/screen" | tail -n 1)
  printf '%-24s %5s calls/s: %4d us proxy CPU per call, %s failed\n' "$1" "$2" \
    $(( (b - a) / calls / 1000 )) "${failed:-?}"
}

echo "$calls calls per run, UDP, sipp uac -> proxy -> sipp uas"
serve "$slproxy" --to "127.0.0.1:$cport"
for rate in 200 500 1000; do measure stateless-proxy $rate; done
unserve
for mode in stateless stateful dialog; do
  serve "$proxy" --domain 127.0.0.1 --mode $mode
  sipp "127.0.0.1:$udp" -sf "$here/../tests/proxy/register-contact.xml" -s service \
    -key contact "sip:service@127.0.0.1:$cport" -m 1 -nostdin -p 0 >/dev/null 2>&1
  for rate in 200 500 1000; do measure "sipsrv-proxy $mode" $rate; done
  unserve
done
