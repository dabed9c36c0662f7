#!/bin/sh
# Drives the real sipsrv-registrar example (RFC 3261 10.3):
#  - sipp: register, refresh, fetch, 423 with Min-Expires, Contact * removal
#    and a last fetch (rules.xml), over UDP and TCP; sipp's register and
#    unregister scenario from tests/realclients, 200 times over each;
#  - sipsak registers and unregisters;
#  - with --users, digest authentication (RFC 3261 22.4, MD5): sipp -au/-ap
#    registers and unregisters through the 401 (auth.xml), sipsak -u/-a too,
#    and sipsak with a wrong password is refused;
#  - with --store sqlite:PATH: 1,000 users registered, the server killed
#    with SIGKILL and restarted, and a fetch of each lists its binding;
#    a corrupt file, a missing directory and a directory as the path are
#    refused at start-up with the reason;
#  - the same under valgrind (with the SQLite store): no error, no leak.
# Only 127.0.0.1, free ports, every process bounded in time and stopped.
#
#   run.sh SIPSRV-REGISTRAR SCRATCH-DIR
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
server=$bin
server_args="--domain 127.0.0.1"
. "$here/../sipp-lib.sh"
suite_begin registrar "$2" sipsak

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

persist() {  # the SQLite store across a kill -9
  rm -f persist.db persist.db-wal persist.db-shm fetch.log
  { echo SEQUENTIAL; seq 0 999 | sed 's/^/user/'; } >users.csv
  server_args="$plain_args --store sqlite:persist.db"
  start || return
  sipp_run "sqlite: register 1000 users (u1)" 127.0.0.1:$udp -t u1 -sf "$here/persist-register.xml" \
    -inf users.csv -m 1000 -r 200
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
  pid=
  start || return
  sipp_run "sqlite: fetch 1000 users after kill -9 (u1)" 127.0.0.1:$udp -t u1 \
    -sf "$here/persist-fetch.xml" -inf users.csv -m 1000 -r 200 -trace_logs -log_file fetch.log
  n=$(awk '$1 == "fetched" && $2 == $3 { print $2 }' fetch.log 2>/dev/null | sort -u | wc -l)
  if [ "$n" -eq 1000 ]; then ok "sqlite: all 1000 users have their own binding after kill -9"
  else bad "sqlite: $n of 1000 users have their own binding after kill -9"; fi
  stop sqlite
  head -c 8192 /dev/urandom >junk.db
  for bad_path in junk.db:"not a database" /nonexistent-sipsrv/x.db:"cannot open" .:"cannot open"; do
    path=${bad_path%%:*} why=${bad_path#*:}
    if timeout 10 "$server" $plain_args --store "sqlite:$path" --listen udp:127.0.0.1:0 \
         >server.out 2>server.err; then
      bad "sqlite: $path was accepted"
    elif grep -q "$path: .*$why" server.err; then
      ok "sqlite: $path refused: $(cat server.err)"
    else
      bad "sqlite: $path: unclear error: $(cat server.err)"
    fi
  done
  server_args=$plain_args
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
persist

if ldd "$bin" 2>/dev/null | grep -q libasan; then
  echo "valgrind part skipped: this sipsrv-registrar is built with AddressSanitizer (its own checks ran)"
elif command -v valgrind >/dev/null 2>&1; then
  rm -f vg.db vg.db-wal vg.db-shm
  server_args="$plain_args --store sqlite:vg.db"   # the memory store is under valgrind in Check
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
