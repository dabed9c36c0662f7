#!/bin/sh
# sipsrv-server --threads 2 (a group of two loops, loop.h) driven by sipp
# over UDP and TCP: a sipp callee listening on TCP registers its address
# ("service", Contact ;transport=tcp), then sipp's built-in uac places
# calls through the server to it, over TCP (one connection carrying every
# call: its Call-IDs belong to both threads, so messages framed by one
# thread are handled by the other and its answers written back through
# the first) and over UDP (the calls leave over TCP connections to the
# callee that either thread may hold). No failed call, no unexpected
# message; the server handed messages between its threads; in stateful and
# call-stateful modes; it stops cleanly. Then baresip calls baresip through
# the call-stateful one (both registered, over UDP, then TCP).
# Only 127.0.0.1, free ports, every process bounded in time and stopped.
#
#   threads.sh SIPSRV-SERVER SCRATCH-DIR
set -u
server=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
server_args=
. "$here/../sipp-lib.sh"
suite_begin threads "$2"

for mode in stateful dialog; do
  server_args="--threads 2 --domain 127.0.0.1 --mode $mode"
  start || continue
  callee_start t1 -sn uas || break
  sipp_run "$mode: register the callee (its TCP address)" 127.0.0.1:$udp -t u1 \
    -sf "$here/../proxy/register-contact.xml" -s service \
    -key contact "sip:service@127.0.0.1:$cport;transport=tcp" -m 1
  sipp_run "$mode: 600 calls at 300/s over one TCP connection" 127.0.0.1:$tcp -sn uac -t t1 \
    -s service -m 600 -r 300 -l 400
  sipp_run "$mode: 600 calls at 300/s over UDP to the TCP callee" 127.0.0.1:$udp -sn uac -t u1 \
    -s service -m 600 -r 300 -l 400
  callee_stop "$mode"
  stop "$mode"
  handed=$(sed -n 's/.*handed over \([0-9]*\).*/\1/p' server.out | tail -n 1)
  if [ "${handed:-0}" -gt 0 ]; then
    ok "$mode: the threads handed $handed messages to one another"
  else
    bad "$mode: no message handed between the threads ($(tail -n 2 server.out))"
  fi
  if [ "$mode" = stateful ]; then
    :                                    # baresip: once, through the call-stateful proxy
  elif command -v baresip >/dev/null 2>&1; then
    for t in udp tcp; do
      start || continue
      port=$udp; [ $t = tcp ] && port=$tcp
      baresip_call "$mode: baresip calls baresip through two threads ($t)" "$t" "$port"
      stop "$mode baresip ($t)"
    done
  else
    echo "baresip part skipped: baresip (Debian package baresip-core) is not installed"
  fi
done

echo "threads: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
