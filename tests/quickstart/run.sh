#!/bin/sh
# The README's quick start as written: `sh scripts/start.sh` with no
# arguments brings sipsrv-server up on 127.0.0.1:5060 (UDP and TCP); a
# sipp callee registers through it (REGISTER to 127.0.0.1:5060, 200), then
# sipp's built-in uac calls it through the server, 20 calls over UDP and
# 20 over TCP, with no failed call; SIGUSR1 prints the counters line; SIGTERM
# stops the server with status 0. It runs in a private network namespace
# (unshare -rn) so that port 5060 is free whatever runs on this machine;
# skipped, with the reason, where that or sipp is not available.
#
#   run.sh SOURCE-DIR BUILD-DIR SCRATCH-DIR
set -u
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
dir=$3
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir" || exit 1

if [ "${SIPSRV_QS_NETNS:-}" != 1 ]; then
  for c in sipp unshare ip; do
    if ! command -v "$c" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$c" ]; then
      echo "quickstart suite skipped: $c is not installed (sip-tester, util-linux, iproute2)"
      exit 77
    fi
  done
  if ! unshare -rn true 2>/dev/null; then
    echo "quickstart suite skipped: cannot make a network namespace (unshare -rn refused)"
    exit 77
  fi
  SIPSRV_QS_NETNS=1 exec timeout 300 unshare -rn sh "$src/tests/quickstart/run.sh" "$src" "$build" "$dir"
fi
PATH=$PATH:/usr/sbin:/sbin
ip link set lo up || { echo "FAIL: no loopback in the namespace"; exit 1; }

server=$build/examples/sipsrv-server   # for sipp-lib's messages
server_args=
. "$src/tests/sipp-lib.sh"
callee=
cleanup_all() { cleanup; [ -n "$callee" ] && kill "$callee" 2>/dev/null; }
trap cleanup_all EXIT INT TERM HUP

# The first quick-start command, as the README gives it.
rm -f server.out server.err
SIPSRV_BUILD=$build sh "$src/scripts/start.sh" >server.out 2>server.err &
pid=$!
for _ in $(seq 1 300); do
  grep -q '^listening on tcp port 5060' server.out 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if grep -q '^listening on udp port 5060' server.out && grep -q '^listening on tcp port 5060' server.out; then
  ok "scripts/start.sh: sipsrv-server listens on UDP and TCP 127.0.0.1:5060"
else
  bad "scripts/start.sh did not bring sipsrv-server up: $(tail -3 server.err)"
  exit 1
fi
udp=5060
tcp=5060

for t in u1 t1; do
  tp=""; [ $t = t1 ] && tp=";transport=tcp"
  timeout 120 sipp -i 127.0.0.1 -p 5070 -t $t -nostdin -sn uas >callee.log 2>&1 &
  callee=$!
  sleep 0.3
  sipp_run "REGISTER sip:service@127.0.0.1 through 127.0.0.1:5060 ($t)" 127.0.0.1:5060 -t $t \
    -sf "$src/tests/proxy/register-contact.xml" -s service -key contact "sip:service@127.0.0.1:5070$tp" -m 1
  sipp_run "20 calls through sipsrv-server to the registered sipp uas ($t)" 127.0.0.1:5060 -t $t \
    -sn uac -s service -m 20 -r 10
  kill "$callee" 2>/dev/null; wait "$callee" 2>/dev/null; callee=
done

kill -USR1 "$pid"
for _ in $(seq 1 50); do grep -q '^sipsrv-server: up ' server.out && break; sleep 0.1; done
line=$(grep '^sipsrv-server: up ' server.out | tail -1)
if echo "$line" | grep -q 'bindings 1;' && echo "$line" | grep -Eq 'requests in [1-9]'; then
  ok "SIGUSR1: $line"
else
  bad "SIGUSR1 printed no counters line with the binding: '$line'"
fi
stop "quickstart"
echo "quickstart: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
