#!/bin/sh
# Drives the real sipsrv-uas example with sipp (RFC 3261 UAS behaviour):
#  - OPTIONS -> 200 with Allow/Accept, an unknown method -> 501 with Allow,
#    INVITE with Require: foo -> 420 with Unsupported: foo; over UDP and TCP;
#  - sipp's built-in uac: 2000 calls at 200 calls/s over UDP, then over TCP,
#    with no failed call and no unexpected message; the server's CPU per call;
#  - the same scenarios and 300 calls under valgrind: no error, no leak.
# Only 127.0.0.1, free ports, every process bounded in time and stopped.
#
#   run.sh SIPSRV-UAS SCRATCH-DIR
set -u
uas=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
server=$uas
server_args=
. "$here/../sipp-lib.sh"
suite_begin uas "$2"

# CPU time the server ran, in ns (schedstat is exact; tick counts are not).
cpu_ns() { awk '{print $1}' "/proc/$pid/schedstat"; }

scenarios() {  # scenarios TAG
  for t in u1 t1; do
    port=$udp; [ $t = t1 ] && port=$tcp
    sipp_run "$1 OPTIONS -> 200 ($t)" 127.0.0.1:$port -t $t -sf "$here/options.xml" -m 1
    sipp_run "$1 unknown method -> 501 ($t)" 127.0.0.1:$port -t $t -sf "$here/unknown.xml" -m 1
    sipp_run "$1 Require: foo -> 420 ($t)" 127.0.0.1:$port -t $t -sf "$here/require.xml" -m 1
  done
}

start || exit 1
scenarios native
for t in u1 t1; do
  port=$udp; [ $t = t1 ] && port=$tcp
  before=$(cpu_ns)
  sipp_run "2000 calls at 200/s ($t)" 127.0.0.1:$port -sn uac -t $t -m 2000 -r 200 -l 400
  after=$(cpu_ns)
  echo "cpu: $t: $(( (after - before) / 2000 / 1000 )) us of server CPU per call (2000 calls)"
done
stop native

if ldd "$uas" 2>/dev/null | grep -q libasan; then
  echo "valgrind part skipped: this sipsrv-uas is built with AddressSanitizer (its own checks ran)"
elif command -v valgrind >/dev/null 2>&1; then
  start valgrind || exit 1
  scenarios valgrind
  sipp_run "valgrind: 300 calls at 50/s (u1)" 127.0.0.1:$udp -sn uac -t u1 -m 300 -r 50
  sipp_run "valgrind: 300 calls at 50/s (t1)" 127.0.0.1:$tcp -sn uac -t t1 -m 300 -r 50
  stop valgrind
else
  echo "valgrind part skipped: valgrind is not installed"
fi

echo "uas: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
