#!/bin/sh
# Drives the real sipsrv-registrar example (RFC 3261 10.3):
#  - sipp: register, refresh, fetch, 423 with Min-Expires, Contact * removal
#    and a last fetch (rules.xml), over UDP and TCP; sipp's register and
#    unregister scenario from tests/realclients, 200 times over each;
#  - sipsak registers and unregisters;
#  - with --users, digest authentication (RFC 3261 22.4, MD5): sipp -au/-ap
#    registers and unregisters through the 401 (auth.xml), sipsak -u/-a too,
#    and sipsak with a wrong password is refused;
#  - the same under valgrind: no error, no leak.
# Only 127.0.0.1, free ports, every process bounded in time and stopped.
#
#   run.sh SIPSRV-REGISTRAR SCRATCH-DIR
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cd "$dir" || exit 1

if ! command -v sipp >/dev/null 2>&1 || ! command -v sipsak >/dev/null 2>&1; then
  echo "registrar suite skipped: sipp (sip-tester) or sipsak is not installed"
  exit 77
fi

server=$bin
server_args="--domain 127.0.0.1"
. "$here/../sipp-lib.sh"

sipsak_run() {  # sipsak_run NAME ARGS...: must exit 0 (a 200)
  name=$1; shift
  if timeout 15 sipsak "$@" >sipsak.log 2>&1; then ok "$name"; else bad "$name: $(tail -3 sipsak.log)"; fi
}

suite() {  # suite TAG REPEAT
  for t in u1 t1; do
    port=$udp; [ $t = t1 ] && port=$tcp
    sipp_run "$1 register/refresh/fetch/423/* ($t)" 127.0.0.1:$port -t $t -sf "$here/rules.xml" -m 1
    sipp_run "$1 register + unregister x$2 ($t)" 127.0.0.1:$port -t $t \
      -sf "$here/../realclients/register.xml" -m "$2" -r 50
  done
  sipsak_run "$1 sipsak register" -U -C sip:bob@127.0.0.1:5999 -s "sip:bob@127.0.0.1:$udp" -x 300
  sipsak_run "$1 sipsak unregister" -U -C sip:bob@127.0.0.1:5999 -s "sip:bob@127.0.0.1:$udp" -x 0
}

auth_suite() {  # auth_suite TAG REPEAT: against a server started with --users
  for t in u1 t1; do
    port=$udp; [ $t = t1 ] && port=$tcp
    sipp_run "$1 digest register + unregister x$2 ($t)" 127.0.0.1:$port -t $t \
      -sf "$here/auth.xml" -au alice -ap wonder -m "$2" -r 50
  done
  sipsak_run "$1 sipsak digest register" -U -C sip:bob@127.0.0.1:5999 -s "sip:bob@127.0.0.1:$udp" \
    -u bob -a secret -x 300
  sipsak_run "$1 sipsak digest unregister" -U -C sip:bob@127.0.0.1:5999 -s "sip:bob@127.0.0.1:$udp" \
    -u bob -a secret -x 0
  if timeout 15 sipsak -U -C sip:bob@127.0.0.1:5999 -s "sip:bob@127.0.0.1:$udp" -u bob -a wrong \
       -x 300 >sipsak.log 2>&1; then
    bad "$1 sipsak wrong password was accepted"
  elif grep -q '401 Unauthorized' sipsak.log; then
    ok "$1 sipsak wrong password refused (401)"
  else
    bad "$1 sipsak wrong password: $(tail -3 sipsak.log)"
  fi
}

printf 'alice:wonder\nbob:secret\n' >users.txt
plain_args=$server_args
auth_args="$server_args --users users.txt"

start || exit 1
suite native 200
stop native
server_args=$auth_args
start || exit 1
auth_suite native 50
stop native-auth
server_args=$plain_args

if ldd "$bin" 2>/dev/null | grep -q libasan; then
  echo "valgrind part skipped: this sipsrv-registrar is built with AddressSanitizer (its own checks ran)"
elif command -v valgrind >/dev/null 2>&1; then
  start valgrind || exit 1
  suite valgrind 20
  stop valgrind
  server_args=$auth_args
  start valgrind || exit 1
  auth_suite valgrind 10
  stop valgrind-auth
else
  echo "valgrind part skipped: valgrind is not installed"
fi

echo "registrar: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
