#!/bin/sh
# Drives the proxy examples with sipp (RFC 3261 16):
#  - sipsrv-proxy in each mode (stateless, stateful, dialog): a sipp uas
#    registers its address for "service" (the location service), then
#    sipp's built-in uac places 2,000 calls at 400 calls/s through the proxy
#    to it, over UDP and over TCP, with no failed call and no unexpected
#    message;
#  - sipsrv-stateless-proxy --to the sipp uas: the same;
#  - CANCEL during ringing (cancel-uac.xml -> proxy -> cancel-uas.xml): the
#    CANCEL reaches the callee with the INVITE's branch, the caller gets
#    200 and 487, and the 487 is ACKed hop by hop; stateful and dialog
#    modes, UDP and TCP;
#  - with --users (RFC 3261 22.3): the callee registers through a 401, a
#    caller of the domain calls through a 407 (auth-uac.xml, sipp -au/-ap),
#    and a wrong password gets no call through; stateful and dialog, UDP
#    and TCP;
#  - --gateway: calls to +33 numbers go to the first gateway of the prefix
#    (a closed TCP port: a transport error, 16.9) and fail over to the
#    second (the sipp callee), 200 calls, no failure;
#  - baresip calls baresip through sipsrv-proxy in dialog mode (both
#    register, bob answers automatically, alice hangs up): the call is
#    established on both sides and the BYE goes through the proxy (its
#    dialog ends with 200); UDP and TCP;
#  - the same loads, shorter, under valgrind: no error, no leak.
# Only 127.0.0.1, free ports, every process bounded in time and stopped.
#
#   run.sh SIPSRV-PROXY SIPSRV-STATELESS-PROXY SCRATCH-DIR
set -u
proxy=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
slproxy=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
here=$(cd "$(dirname "$0")" && pwd)
server=$proxy
server_args=
. "$here/../sipp-lib.sh"
suite_begin proxy "$3"

cpu_ns() { awk '{print $1}' "/proc/$pid/schedstat"; }

# register T [SIPP-ARGS]: the callee's address for sip:service@127.0.0.1
register() {
  tp=""; [ "$1" = t1 ] && tp=";transport=tcp"
  t=$1; shift
  sipp_run "register the callee ($t)" 127.0.0.1:$udp -t u1 -sf "$here/register-contact.xml" \
    -s service -key contact "sip:service@127.0.0.1:$cport$tp" -m 1 "$@"
}

load() {  # load TAG T CALLS RATE: sipp uac -> proxy -> sipp uas
  port=$udp; [ "$2" = t1 ] && port=$tcp
  before=$(cpu_ns)
  sipp_run "$1: $3 calls at $4/s ($2)" 127.0.0.1:$port -sn uac -t "$2" -s service -m "$3" \
    -r "$4" -l 400
  after=$(cpu_ns)
  echo "cpu: $1 $2: $(( (after - before) / $3 / 1000 )) us of proxy CPU per call"
}

proxy_suite() {  # proxy_suite TAG MODE CALLS RATE [valgrind]
  server=$proxy
  server_args="--domain 127.0.0.1 --mode $2"
  start ${5:-} || return
  for t in u1 t1; do
    callee_start $t -sn uas || return
    register $t
    load "$1 $2" $t "$3" "$4"
    callee_stop "$1 $2"
  done
  if [ "$2" != stateless ]; then
    for t in u1 t1; do
      port=$udp; [ $t = t1 ] && port=$tcp
      callee_start $t -sf "$here/cancel-uas.xml" -m 1 || return
      register $t
      sipp_run "$1 $2: CANCEL during ringing -> 487, ACK hop by hop ($t)" 127.0.0.1:$port -t $t \
        -sf "$here/cancel-uac.xml" -s service -m 1
      callee_stop "$1 $2 CANCEL ($t)" wait
    done
  fi
  stop "$1 $2"
}

auth_suite() {  # auth_suite TAG MODE [valgrind]
  printf 'alice:wonder\nservice:callee\n' >users.txt
  server=$proxy
  server_args="--domain 127.0.0.1 --mode $2 --users users.txt"
  start ${3:-} || return
  for t in u1 t1; do
    port=$udp; [ $t = t1 ] && port=$tcp
    callee_start $t -sn uas || return
    register $t -au service -ap callee
    # sipp's digest uri is remote_ip:remote_port unless told: the
    # Request-URI is what RFC 3261 22.4 and our check want.
    sipp_run "$1 $2: 50 calls through a 407 ($t)" 127.0.0.1:$port -t $t -sf "$here/auth-uac.xml" \
      -s service -au alice -ap wonder -auth_uri "service@127.0.0.1:$port" -m 50 -r 25
    if timeout 30 sipp 127.0.0.1:$port -t $t -sf "$here/auth-uac.xml" -s service -au alice \
         -ap wrong -auth_uri "service@127.0.0.1:$port" -m 1 -nostdin -p 0 -timeout 10s \
         -timeout_error >sipp.log 2>&1; then
      bad "$1 $2: a wrong password got through ($t)"
    else
      ok "$1 $2: a wrong password gets no call through ($t)"
    fi
    callee_stop "$1 $2 auth"
  done
  stop "$1 $2 auth"
}

gateway_suite() {  # gateway_suite TAG CALLS RATE [valgrind]
  callee_start t1 -sn uas || return
  server=$proxy
  # Port 9 (discard) is closed on 127.0.0.1: the first gateway fails at once.
  server_args="--domain 127.0.0.1 --gateway +33=127.0.0.1:9;transport=tcp \
    --gateway +33=127.0.0.1:$cport;transport=tcp"
  start ${4:-} || return
  sipp_run "$1 gateway: $2 calls to +33 numbers fail over to the second gateway" 127.0.0.1:$udp \
    -sn uac -t u1 -s +3312345678 -m "$2" -r "$3" -l 400
  stop "$1 gateway"
  callee_stop "$1 gateway"
}

baresip_suite() {  # baresip_suite TAG [valgrind]
  if ! command -v baresip >/dev/null 2>&1; then
    echo "baresip part skipped: baresip (Debian package baresip-core) is not installed"
    return
  fi
  server=$proxy
  server_args="--domain 127.0.0.1 --mode dialog --log-level info"
  for t in udp tcp; do
    start ${2:-} || return
    port=$udp; [ $t = tcp ] && port=$tcp
    baresip_call "$1: baresip calls baresip through the proxy ($t)" "$t" "$port"
    sleep 0.5
    if grep -q "dialog ended .*(200)" server.err; then
      ok "$1: the BYE went through the proxy ($t)"
    else
      bad "$1: no dialog end through the proxy ($t): $(tail -n 3 server.err)"
    fi
    stop "$1 baresip ($t)"
  done
}

stateless_suite() {  # stateless_suite TAG CALLS RATE [valgrind]
  for t in u1 t1; do
    callee_start $t -sn uas || return
    server=$slproxy
    server_args="--to 127.0.0.1:$cport --transport $( [ $t = t1 ] && echo tcp || echo udp)"
    start ${4:-} || return
    load "$1 stateless-proxy" $t "$2" "$3"
    stop "$1 stateless-proxy ($t)"
    callee_stop "$1 stateless-proxy"
  done
}

for mode in stateless stateful dialog; do
  proxy_suite native $mode 2000 400
done
stateless_suite native 2000 400
for mode in stateful dialog; do
  auth_suite native $mode
done
gateway_suite native 200 50
baresip_suite native

if ldd "$proxy" 2>/dev/null | grep -q libasan; then
  echo "valgrind part skipped: this sipsrv-proxy is built with AddressSanitizer (its own checks ran)"
elif command -v valgrind >/dev/null 2>&1; then
  for mode in stateless dialog; do
    proxy_suite valgrind $mode 200 50 valgrind
  done
  stateless_suite valgrind 200 50 valgrind
  auth_suite valgrind dialog valgrind
else
  echo "valgrind part skipped: valgrind is not installed"
fi

echo "proxy: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
