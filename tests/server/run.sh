#!/bin/sh
# The RFC 4475 torture messages against sipsrv-server, over UDP and TCP:
# each gets the answer INDEX.tsv asks of a proxy/registrar for example.com
# (or none where it says drop), and the server still answers OPTIONS
# afterwards (torture.c holds the table and says why each answer). Then
# SIGTERM: the server must exit 0; its counter summary is shown.
#
# Responses to UDP requests go to the port of each message's top Via
# (RFC 3261 18.2.2): 5060 for most, 5050 for one. So the whole test runs in
# a private network namespace (unshare -rnm: its own 127.0.0.1, where those
# ports are free and nothing leaves it), with the server on 5080 (the port
# mpart01's Route names). A message for another domain may make the proxy
# look names up: /etc/resolv.conf is replaced there, in the private mount
# namespace, by one naming 127.0.0.1, where no name server listens, so a
# lookup fails at once (ICMP port unreachable) whatever the host's resolver
# is (a name server with no route from the namespace is another test).
# Skipped, with the reason, without unprivileged user, network and mount
# namespaces. Every process is bounded in time and stopped; the server's
# stderr is kept to its first megabyte.
#
#   run.sh SIPSRV-SERVER TORTURE-EXE CONFORMANCE-DIR SCRATCH-DIR
set -u
server=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
torture=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
corpus=$(cd "$3" && pwd) || { echo "server: 0 passed, 1 failed (no corpus at $3)"; exit 1; }
dir=$4
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cd "$dir" || exit 1

if [ "${SIPSRV_TORTURE_NETNS:-}" != 1 ]; then
  for c in unshare ip timeout; do
    if ! command -v "$c" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$c" ] && ! [ -x "/sbin/$c" ]; then
      echo "server-torture skipped: $c is not installed (util-linux, iproute2, coreutils)"
      exit 77
    fi
  done
  if ! unshare -rnm true 2>/dev/null; then
    echo "server-torture skipped: cannot make a network and mount namespace (unshare -rnm refused)"
    exit 77
  fi
  SIPSRV_TORTURE_NETNS=1 exec timeout 290 unshare -rnm sh "$here/run.sh" "$server" "$torture" \
    "$corpus" "$PWD"
fi

PATH=$PATH:/usr/sbin:/sbin
port=5080
passed=0
fail=0
pid=
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() {
  echo "server: $passed passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}
# shellcheck disable=SC2317 # called from the traps
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -f err.fifo; }
trap cleanup EXIT
trap 'cleanup; bad "interrupted"; finish' INT TERM HUP

ip link set lo up || { bad "no loopback in the namespace"; finish; }
echo "nameserver 127.0.0.1" >resolv.conf
if ! mount --bind "$PWD/resolv.conf" /etc/resolv.conf 2>mount.err; then
  echo "server-torture skipped: cannot replace /etc/resolv.conf in the namespace ($(cat mount.err))"
  exit 77
fi

rm -f server.out server.err server.err-rest torture.out err.fifo
mkfifo err.fifo || { bad "cannot make a FIFO in $PWD"; finish; }
{ head -c 1000000 >server.err; wc -c >server.err-rest; } <err.fifo &
"$server" --domain example.com --listen "udp:127.0.0.1:$port" --listen "tcp:127.0.0.1:$port" \
  >server.out 2>err.fifo &
pid=$!
up=
for _ in $(seq 1 100); do
  if [ "$(grep -c '^listening on' server.out 2>/dev/null)" = 2 ]; then up=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  bad "sipsrv-server did not start: $(cat server.err)"
  finish
fi
sed -n '/^listening on/p' server.out

start=$(date +%s)
timeout 240 "$torture" "$corpus" "$port" "$port" >torture.out 2>&1
rc=$?
cat torture.out
passed=$((passed + $(grep -c '^ok: ' torture.out)))
fail=$((fail + $(grep -c '^FAIL: ' torture.out)))
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' torture.out; then
  bad "torture exited $rc with no failure listed"
elif [ "$rc" -eq 0 ] && grep -q '^FAIL: ' torture.out; then
  bad "torture exited 0 with failures listed"
fi
echo "torture took $(($(date +%s) - start)) s"

if ! kill -0 "$pid" 2>/dev/null; then
  wait "$pid"
  bad "sipsrv-server died during the torture (status $?): $(tail -5 server.err)"
  pid=
  finish
fi
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  kill -KILL "$pid"
  wait "$pid"
  bad "sipsrv-server did not stop on SIGTERM"
elif wait "$pid"; then
  ok "sipsrv-server stopped cleanly on SIGTERM"
else
  bad "sipsrv-server exited $? on SIGTERM ($(tail -5 server.err))"
fi
pid=
grep '^sipsrv-server: up' server.out
wait   # the stderr reader
echo "sipsrv-server stderr: $(wc -l <server.err) line(s) kept in $PWD/server.err," \
  "$(cat server.err-rest 2>/dev/null || echo ?) more bytes dropped"
finish
