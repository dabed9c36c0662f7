#!/bin/sh
# Real SIP clients against sipsrv's message layer.
#
#   run.sh SIPSRV-CHECK SCRATCH-DIR
#
# Starts capture.py (a listener on 127.0.0.1, UDP and TCP, on a port the
# system picks) and drives real clients from Debian packages at it: sipp
# (sip-tester: built-in uac over UDP and TCP, register.xml and options.xml
# over UDP and TCP), sipsak (OPTIONS ping, registration, un-registration over
# UDP) and baresip (baresip-core: register, call, OPTIONS, MESSAGE, hang-up and
# un-register at exit, over UDP and TCP). Every message captured must then be
# accepted by SIPSRV-CHECK (--stream for TCP), one line printed per message,
# and each client must have sent at least the messages it is expected to.
#
# Missing clients are installed with apt-get when run as root; otherwise the
# test prints "clients suite skipped: ..." and exits 77 (meson: skipped).
# Everything runs on 127.0.0.1, each client under timeout(1); the whole run
# takes about 10 seconds, 45 at the very most. The captured messages and the
# clients' logs stay in SCRATCH-DIR/realclients-run for inspection.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 SIPSRV-CHECK SCRATCH-DIR" >&2
  exit 2
fi
check=$1
here=$(cd "$(dirname "$0")" && pwd)
case $check in /*) ;; *) check=$(pwd)/$check ;; esac
mkdir -p "$2" || exit 1
work=$(cd "$2" && pwd)/realclients-run

skip() {
  echo "clients suite skipped: $*"
  exit 77
}

[ -x "$check" ] || { echo "sipsrv-check not found at $check" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
command -v timeout >/dev/null 2>&1 || skip "timeout(1) is not installed"

# -- the clients ------------------------------------------------------------

missing() {
  m=
  command -v sipp >/dev/null 2>&1 || m="$m sip-tester"
  command -v sipsak >/dev/null 2>&1 || m="$m sipsak"
  command -v baresip >/dev/null 2>&1 || m="$m baresip-core"
  echo $m
}
need=$(missing)
if [ -n "$need" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: $need"
    apt_log=$(dirname "$work")/realclients-apt.log
    apt_install() {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        $need >"$apt_log" 2>&1
    }
    if ! apt_install; then
      apt-get update -q >/dev/null 2>&1
      apt_install || tail -n 5 "$apt_log"
    fi
    need=$(missing)
    [ -z "$need" ] || skip "apt-get could not install: $need"
  else
    skip "missing: $need (run as root, or: apt-get install $need)"
  fi
fi

# -- the capture listener ---------------------------------------------------

rm -rf "$work"
mkdir -p "$work/logs" "$work/baresip" || exit 1
cd "$work" || exit 1
cap_pid=
client_pid=
cleanup() {
  if [ -n "$client_pid" ]; then    # timeout(1) passes the signal on to the client
    kill "$client_pid" 2>/dev/null
    wait "$client_pid" 2>/dev/null
    client_pid=
  fi
  if [ -n "$cap_pid" ]; then
    : > "$work/stop"
    kill "$cap_pid" 2>/dev/null
    wait "$cap_pid" 2>/dev/null
    cap_pid=
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM HUP

python3 "$here/capture.py" --dir "$work" --duration 55 >"$work/logs/capture.out" 2>&1 &
cap_pid=$!
i=0
while [ ! -s "$work/port" ] && [ $i -lt 50 ]; do
  kill -0 "$cap_pid" 2>/dev/null || break
  sleep 0.1
  i=$((i + 1))
done
[ -s "$work/port" ] || { echo "capture listener did not start:"; cat "$work/logs/capture.out"; exit 1; }
port=$(cat "$work/port")
echo "capture listener on 127.0.0.1:$port (UDP and TCP)"

free_ports() { python3 "$here/capture.py" --free-port "$@"; }

passes=0
failures=0
pass() { passes=$((passes + 1)); }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
clients=

# Every client must be done 45 s after the start, whatever happens.
deadline=$(($(date +%s) + 45))

# run LABEL SECS CMD...: run one client, for at most SECS seconds, with the
# capture labelled LABEL.
run() {
  label=$1 secs=$2
  shift 2
  case " $clients " in *" $label "*) ;; *) clients="$clients $label" ;; esac
  left=$((deadline - $(date +%s)))
  [ "$secs" -le "$left" ] || secs=$left
  if [ "$secs" -lt 2 ]; then
    echo "$label: not run, the time budget is spent"
    rc=124
    return $rc
  fi
  echo "$label" > "$work/label"
  timeout -k 2 "$secs" "$@" >"$work/logs/$label.log" 2>&1 &
  client_pid=$!
  wait "$client_pid"
  rc=$?
  client_pid=
  echo "$label: exit $rc"
  return $rc
}

# sipp LABEL ARGS...: sipp with its own ports picked free; retried twice if
# one was taken meanwhile.
sipp_run() {
  label=$1
  shift
  tries=0
  while :; do
    set -- $(free_ports sip media control) "$@"
    lp=$1 mp=$2 cp=$3
    shift 3
    run "$label" 15 sipp -m 1 -timeout 10s -timeout_error -nostdin -max_recv_loops 100 \
      -i 127.0.0.1 -mi 127.0.0.1 -p "$lp" -mp "$mp" -cp "$cp" "$@" "127.0.0.1:$port"
    rc=$?
    tries=$((tries + 1))
    if [ $rc -ne 0 ] && [ $tries -lt 3 ] && grep -q "Unable to bind" "$work/logs/$label.log"; then
      echo "$label: a port was taken, retrying"
      continue
    fi
    if [ $rc -eq 0 ]; then pass; else fail "$label: sipp exited $rc"; tail -n 5 "$work/logs/$label.log"; fi
    return 0
  done
}

sipp_run sipp-uac-udp -sn uac -t u1
sipp_run sipp-uac-tcp -sn uac -t t1
sipp_run sipp-register-udp -sf "$here/register.xml" -t u1
sipp_run sipp-register-tcp -sf "$here/register.xml" -t t1
sipp_run sipp-options-udp -sf "$here/options.xml" -t u1
sipp_run sipp-options-tcp -sf "$here/options.xml" -t t1

# sipsak: -l is the port it listens on, also named in the Contact it registers.
sipsak_run() {
  label=$1
  shift
  if run "$label" 10 sipsak -vv "$@"; then pass; else fail "$label: sipsak exited $rc"; tail -n 5 "$work/logs/$label.log"; fi
}
sp=$(free_ports sip)
sipsak_run sipsak-options -l "$sp" -s "sip:test@127.0.0.1:$port"
sp=$(free_ports sip)
sipsak_run sipsak-register -l "$sp" -U -C "sip:test@127.0.0.1:$sp" -x 60 -s "sip:test@127.0.0.1:$port"
sp=$(free_ports sip)
sipsak_run sipsak-unregister -l "$sp" -U -C "sip:test@127.0.0.1:$sp" -x 0 -s "sip:test@127.0.0.1:$port"

# baresip: headless, a generated config dir, quits after 3 s (-t): it
# registers, calls, sends OPTIONS and MESSAGE, and on quitting hangs up and
# un-registers.
baresip_run() {
  label=$1 tp=$2
  dir=$work/baresip/$tp
  mkdir -p "$dir"
  cat > "$dir/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$(free_ports sip)
net_interface		127.0.0.1
call_local_timeout	120
call_max_calls		4
module_path		/usr/lib/baresip/modules
module			g711.so
module_app		account.so
module_app		contact.so
module_app		menu.so
EOF
  echo "<sip:alice@127.0.0.1:$port;transport=$tp>;regint=60" > "$dir/accounts"
  echo "\"Bob\" <sip:bob@127.0.0.1:$port;transport=$tp>" > "$dir/contacts"
  run "$label" 10 baresip -f "$dir" -t 3 \
    -e "/dial sip:bob@127.0.0.1:$port" \
    -e "/options sip:bob@127.0.0.1:$port;transport=$tp" \
    -e "/message hello from baresip"
  if [ $rc -eq 0 ]; then pass; else fail "$label: baresip exited $rc"; tail -n 5 "$work/logs/$label.log"; fi
}
baresip_run baresip-udp udp
baresip_run baresip-tcp tcp

sleep 0.3        # late retransmissions, if any, land in the last client's capture
cleanup

# -- the verdicts -------------------------------------------------------------

accepted=0
rejected=0
echo "== verdicts of $check"
for label in $clients; do
  for f in "$work/msgs/$label"/*.sip; do
    [ -f "$f" ] || continue
    case $f in *-tcp-*) flags=--stream ;; *) flags= ;; esac
    line=$("$check" $flags "$f" | tail -n 1)
    rel=${f#"$work/msgs/"}
    case $line in
      *": accept "*)
        accepted=$((accepted + 1))
        pass
        echo "$label: ${rel#*/}: ${line#*: }"
        ;;
      *)
        rejected=$((rejected + 1))
        fail "$label: ${rel#*/}: ${line#*: }"
        echo "----- message bytes (cat -v) -----"
        cat -v "$f"
        echo "----- what sipsrv answers -----"
        "$check" $flags --reply "$f" | tail -n +2
        echo "-----"
        ;;
    esac
  done
done

# -- what each client must have sent ----------------------------------------

# expect LABEL METHOD MIN...: at least MIN captured requests of each METHOD.
expect() {
  label=$1
  shift
  got=
  while [ $# -ge 2 ]; do
    n=$(ls "$work/msgs/$label" 2>/dev/null | grep -c -- "-$1\.sip\$")
    got="$got $1=$n"
    [ "$n" -ge "$2" ] || fail "$label: captured $n $1, expected at least $2"
    shift 2
  done
  echo "$label: captured$got"
  pass
}
# expect_unregister LABEL: one of its REGISTERs removes a binding (expires 0).
expect_unregister() {
  if ! cat "$work/msgs/$1"/*-REGISTER.sip 2>/dev/null | tr -d '\r' |
      grep -Eiq '^(expires:[[:space:]]*0$|(contact|m):.*;[[:space:]]*expires=0([;,[:space:]]|$))'; then
    fail "$1: no un-REGISTER (expires 0) captured"
  else
    pass
  fi
}

echo "== what each client sent"
expect sipp-uac-udp INVITE 1 ACK 1 BYE 1
expect sipp-uac-tcp INVITE 1 ACK 1 BYE 1
expect sipp-register-udp REGISTER 2
expect sipp-register-tcp REGISTER 2
expect_unregister sipp-register-udp
expect_unregister sipp-register-tcp
expect sipp-options-udp OPTIONS 1
expect sipp-options-tcp OPTIONS 1
expect sipsak-options OPTIONS 1
expect sipsak-register REGISTER 1
expect sipsak-unregister REGISTER 1
expect_unregister sipsak-unregister
for tp in udp tcp; do
  expect baresip-$tp REGISTER 2 INVITE 1 ACK 1 OPTIONS 1 MESSAGE 1 BYE 1
  expect_unregister baresip-$tp
done
n=$(ls "$work/msgs" | grep -cv -e '^sipp-' -e '^sipsak-' -e '^baresip-')
[ "$n" -eq 0 ] || fail "$n message group(s) captured outside any client run: $(ls "$work/msgs")"

echo "realclients: $accepted message(s) accepted, $rejected not accepted"
echo "realclients: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
