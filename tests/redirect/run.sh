#!/bin/sh
# Drives sipsrv-redirect with sipp (RFC 3261 8.3, 21.3, 10.3):
#  - a callee registers sip:service@127.0.0.1 -> its contact; 200 INVITEs
#    at 100/s to service each get 302 with exactly that contact, and the
#    ACK (with the INVITE's branch) ends each transaction: no failed call,
#    no retransmitted 302;
#  - an unknown user gets 404; a --rule user gets 302 to the rule's URI,
#    one with two rules 300 with both, in order;
#  - OPTIONS to the server itself: 200 from the UAS;
#  - the same, shorter, under valgrind: no error, no leak.
# Only 127.0.0.1, free ports, every process bounded in time and stopped.
#
#   run.sh SIPSRV-REDIRECT SCRATCH-DIR
set -u
server=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
server_args="--domain 127.0.0.1 --rule carol=sip:carol@192.0.2.50:5070"
. "$here/../sipp-lib.sh"
suite_begin redirect "$2"

register() {  # register CONTACT [Q]: sip:service@127.0.0.1 -> CONTACT
  sipp_run "register sip:service@127.0.0.1 -> $1" 127.0.0.1:$udp -t u1 \
    -sf "$here/../proxy/register-contact.xml" -s service -key contact "$1" -m 1
}

# contacts_seen PATTERN: how many received 3xx carry a Contact line matching PATTERN
contacts_seen() { grep -c "^Contact: $1" sipp_messages.log 2>/dev/null || echo 0; }

redirect_suite() {  # redirect_suite TAG CALLS [valgrind]
  start ${3:-} || return
  register "sip:service@127.0.0.1:5999"
  for t in u1 t1; do
    port=$udp; [ $t = t1 ] && port=$tcp
    rm -f sipp_messages.log
    sipp_run "$1: $2 INVITEs redirected by 302, ACKed ($t)" 127.0.0.1:$port -t $t \
      -sf "$here/uac-3xx.xml" -s service -m "$2" -r 100 -l 200 -trace_msg -message_file sipp_messages.log
    n302=$(grep -c '^SIP/2.0 302 ' sipp_messages.log)
    nc=$(contacts_seen '<sip:service@127.0.0.1:5999>;expires=')
    if [ "$n302" -eq "$2" ] && [ "$nc" -eq "$2" ]; then
      ok "$1: each of the $2 answers was one 302 with the registered contact and its expires ($t)"
    else
      bad "$1: $n302 302s, $nc with the contact, want $2 ($t)"
    fi
  done
  rm -f sipp_messages.log
  sipp_run "$1: an unknown user gets 404" 127.0.0.1:$udp -t u1 -sf "$here/uac-404.xml" \
    -s nobody -m 1
  rm -f sipp_messages.log
  sipp_run "$1: a --rule user is redirected" 127.0.0.1:$udp -t u1 -sf "$here/uac-3xx.xml" \
    -s carol -m 1 -trace_msg -message_file sipp_messages.log
  if grep -q '^SIP/2.0 302 ' sipp_messages.log &&
     grep -q '^Contact: <sip:carol@192.0.2.50:5070>' sipp_messages.log; then
    ok "$1: the rule's URI is the 302's contact"
  else
    bad "$1: no 302 to the rule's URI: $(grep -E '^(SIP/2.0|Contact)' sipp_messages.log | head -3)"
  fi
  rm -f sipp_messages.log
  sipp_run "$1: two rules for dave give 300" 127.0.0.1:$udp -t u1 \
    -sf "$here/uac-3xx.xml" -s dave -m 1 -trace_msg -message_file sipp_messages.log
  first=$(grep '^Contact: <sip:dave@' sipp_messages.log | head -1)
  if grep -q '^SIP/2.0 300 ' sipp_messages.log &&
     [ "$(grep -c '^Contact: <sip:dave@' sipp_messages.log)" -eq 2 ] &&
     echo "$first" | grep -q 'dave@192.0.2.51'; then
    ok "$1: 300 lists both rule URIs, in order"
  else
    bad "$1: no 300 with both: $(grep -E '^(SIP/2.0|Contact)' sipp_messages.log | head -4)"
  fi
  if command -v sipsak >/dev/null 2>&1; then
    if timeout 10 sipsak -s "sip:127.0.0.1:$udp" -v 2>&1 | grep -q "200 OK"; then
      ok "$1: OPTIONS to the server itself gets 200 (UAS)"
    else
      bad "$1: OPTIONS to the server itself: no 200"
    fi
  fi
  stop "$1"
}

server_args="$server_args --rule dave=sip:dave@192.0.2.51:5070 --rule dave=sip:dave@192.0.2.52:5070"
redirect_suite native 200
if ldd "$server" 2>/dev/null | grep -q libasan; then
  echo "valgrind part skipped: this sipsrv-redirect is built with AddressSanitizer (its own checks ran)"
elif command -v valgrind >/dev/null 2>&1; then
  redirect_suite valgrind 20 valgrind
else
  echo "valgrind part skipped: valgrind is not installed"
fi
echo "redirect: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
