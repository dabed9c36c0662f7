#!/bin/sh
# RFC 3263 through the examples and Sofia-SIP's resolver, against a real DNS
# server (dnsmasq) in a private network namespace (unshare -rn: its own
# 127.0.0.1, so dnsmasq can answer on port 53 and nothing leaves it):
#  - sipsrv-proxy (stateful): a callee registers the contact
#    sip:service@other.test; other.test has a NAPTR to _sip._udp, whose SRV
#    records name first a sipp that answers every INVITE with 503, then the
#    real callee. 100 calls: each INVITE is answered 503 at the first SRV
#    target (which gets its ACK) and completes at the second (4.3);
#  - over TCP: tcp.test's NAPTR says TCP, its first SRV target is a closed
#    port (connection refused, a transport error) and the second the callee:
#    100 calls, no failure;
#  - a contact whose domain has no record: the caller gets 503;
#  - sipsrv-stateless-proxy --to sl.test (SRV only, no NAPTR): 100 calls,
#    with a name server that is down listed first (ICMP port unreachable:
#    the resolver moves on to the next one);
#  - with no reachable name server at all (no route: Sofia's resolver would
#    loop forever), a call gets 503 at once and the proxy stays responsive;
#  - the UDP failover again under valgrind: no error, no leak.
# Skipped, with the reason, without sipp, dnsmasq or unprivileged network
# namespaces. Every process is bounded in time and stopped.
#
#   dns.sh SIPSRV-PROXY SIPSRV-STATELESS-PROXY SCRATCH-DIR
set -u
proxy=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
slproxy=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cd "$dir" || exit 1

if [ "${SIPSRV_DNS_NETNS:-}" != 1 ]; then
  for c in sipp dnsmasq unshare ip; do
    if ! command -v "$c" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$c" ]; then
      echo "proxy-dns suite skipped: $c is not installed (sip-tester, dnsmasq-base, util-linux, iproute2)"
      exit 77
    fi
  done
  if ! unshare -rn true 2>/dev/null; then
    echo "proxy-dns suite skipped: cannot make a network namespace (unshare -rn refused)"
    exit 77
  fi
  SIPSRV_DNS_NETNS=1 exec timeout 600 unshare -rn sh "$here/dns.sh" "$proxy" "$slproxy" "$PWD"
fi

PATH=$PATH:/usr/sbin:/sbin
ip link set lo up || { echo "FAIL: no loopback in the namespace"; exit 1; }

server=$proxy
server_args=
. "$here/../sipp-lib.sh"

dns=; callee=; callee2=
cleanup_all() {
  cleanup
  for p in $callee $callee2 $dns; do kill "$p" 2>/dev/null; done
}
trap cleanup_all EXIT INT TERM HUP

# The zone. 127.0.0.1:5071 answers 503, 5072 is the callee (UDP); 5073 is
# closed, 5074 the callee (TCP).
cat >dnsmasq.conf <<'EOF'
no-resolv
no-hosts
local=/test/
listen-address=127.0.0.1
bind-interfaces
host-record=a.other.test,127.0.0.1
host-record=b.other.test,127.0.0.1
naptr-record=other.test,10,10,S,SIP+D2U,,_sip._udp.other.test
srv-host=_sip._udp.other.test,a.other.test,5071,10,10
srv-host=_sip._udp.other.test,b.other.test,5072,20,10
naptr-record=tcp.test,10,10,S,SIP+D2T,,_sip._tcp.tcp.test
srv-host=_sip._tcp.tcp.test,a.other.test,5073,10,10
srv-host=_sip._tcp.tcp.test,b.other.test,5074,20,10
srv-host=_sip._udp.sl.test,b.other.test,5072,10,10
log-queries
EOF
echo "nameserver 127.0.0.1" >resolv.conf
printf 'nameserver 127.0.0.2\nnameserver 127.0.0.1\n' >resolv-dead-first.conf
echo "nameserver 192.0.2.53" >resolv-no-route.conf    # no route in this namespace
rm -f dnsmasq.log
dnsmasq --keep-in-foreground --conf-file=dnsmasq.conf --user=root --group= --pid-file= \
  --log-facility="$PWD/dnsmasq.log" &
dns=$!
sleep 0.5
if ! kill -0 "$dns" 2>/dev/null; then
  echo "proxy-dns suite skipped: dnsmasq does not start here ($(tail -2 dnsmasq.log))"
  exit 77
fi

callee_at() {  # callee_at VAR PORT T SIPP-ARGS...: a sipp callee on 127.0.0.1:PORT
  v=$1; port=$2; t=$3; shift 3
  timeout 300 sipp -i 127.0.0.1 -p "$port" -t "$t" -nostdin "$@" >"callee-$port.log" 2>&1 &
  eval "$v=\$!"
  sleep 0.3
}

register_contact() {  # register_contact CONTACT: the binding of sip:service@127.0.0.1
  sipp_run "register sip:service@127.0.0.1 -> $1" 127.0.0.1:$udp -t u1 \
    -sf "$here/register-contact.xml" -s service -key contact "$1" -m 1
}

failover_udp() {  # failover_udp TAG CALLS
  callee_at callee 5071 u1 -sf "$here/uas-503.xml" -m "$2"
  callee_at callee2 5072 u1 -sn uas
  register_contact "sip:service@other.test"
  sipp_run "$1: $2 calls, each 503 at the first SRV target then 200 at the next (UDP)" \
    127.0.0.1:$udp -t u1 -sf "$here/uac-dns.xml" -s service -m "$2" -r 50 -l 100
  if wait "$callee"; then
    ok "$1: the first SRV target got all $2 INVITEs and ACKed 503s"
  else
    bad "$1: the first SRV target's scenario failed ($(tail -3 callee-5071.log))"
  fi
  callee=
  kill "$callee2" 2>/dev/null; wait "$callee2" 2>/dev/null; callee2=
}

server=$proxy
server_args="--domain 127.0.0.1 --mode stateful --resolv-conf resolv.conf"
start || exit 1
failover_udp "sipsrv-proxy" 100
# The addresses of SRV targets come with the SRV answer (additional
# records); AAAA is asked as well.
if grep -q 'query\[NAPTR\] other.test' dnsmasq.log &&
   grep -q 'query\[SRV\] _sip._udp.other.test' dnsmasq.log &&
   grep -Eq 'query\[(A|AAAA)\] b\.other\.test' dnsmasq.log; then
  ok "the proxy asked NAPTR, then SRV, then the address (RFC 3263 4.1, 4.2)"
else
  bad "the proxy did not ask NAPTR, SRV and A/AAAA: $(grep query dnsmasq.log | head -5)"
fi
echo "DNS queries during 100 calls: $(grep -c 'query\[' dnsmasq.log)"

callee_at callee2 5074 t1 -sn uas
register_contact "sip:service@tcp.test"
sipp_run "sipsrv-proxy: 100 calls, the first SRV target refuses TCP, the next answers" \
  127.0.0.1:$tcp -t t1 -sf "$here/uac-dns.xml" -s service -m 100 -r 50 -l 100
kill "$callee2" 2>/dev/null; wait "$callee2" 2>/dev/null; callee2=

register_contact "sip:service@nosuch.test"
sipp_run "sipsrv-proxy: a contact in a domain with no record gets 503" \
  127.0.0.1:$udp -t u1 -sf "$here/uac-503.xml" -s service -m 1
stop "sipsrv-proxy DNS"

server=$slproxy
server_args="--to sl.test --resolv-conf resolv-dead-first.conf"
start || exit 1
callee_at callee2 5072 u1 -sn uas
sipp_run "sipsrv-stateless-proxy --to sl.test (SRV), first name server down: 100 calls" \
  127.0.0.1:$udp -sn uac -t u1 -s service -m 100 -r 50 -l 100
echo "cpu: stateless proxy, first name server down: $(( $(awk '{print $1}' "/proc/$pid/schedstat") / 1000000 )) ms in all"
kill "$callee2" 2>/dev/null; wait "$callee2" 2>/dev/null; callee2=
stop "sipsrv-stateless-proxy DNS"

server=$slproxy
server_args="--to sl.test --resolv-conf resolv-no-route.conf"
start || exit 1
sipp_run "no name server reachable: the call gets 503" 127.0.0.1:$udp -t u1 \
  -sf "$here/uac-503.xml" -s service -m 3
if [ "$(wc -c <server.err)" -lt 10000 ]; then
  ok "no name server reachable: the proxy does not spin ($(wc -c <server.err) bytes of log)"
else
  bad "no name server reachable: $(wc -c <server.err) bytes of log: $(head -2 server.err)"
fi
stop "sipsrv-stateless-proxy, no name server reachable"

if ldd "$proxy" 2>/dev/null | grep -q libasan; then
  echo "valgrind part skipped: this sipsrv-proxy is built with AddressSanitizer (its own checks ran)"
elif command -v valgrind >/dev/null 2>&1; then
  server=$proxy
  server_args="--domain 127.0.0.1 --mode stateful --resolv-conf resolv.conf"
  start valgrind || exit 1
  failover_udp "sipsrv-proxy under valgrind" 10
  stop "sipsrv-proxy DNS under valgrind"
else
  echo "valgrind part skipped: valgrind is not installed"
fi

echo "$passed passed, $fail failed"
[ "$fail" -eq 0 ]
