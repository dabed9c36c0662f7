# Shared by the sipp-driven suites (tests/uas, tests/registrar): start an
# example server on free 127.0.0.1 ports, run sipp scenarios against it,
# stop it and check its exit status. Source it after setting `server` (the
# binary) and `server_args` (its arguments but --listen).
# shellcheck shell=sh

# suite_begin NAME DIR [TOOL...]: work in DIR (made); without sipp or a
# TOOL, the suite is skipped (exit 77) and says why.
suite_begin() {
  suite=$1 sdir=$2
  shift 2
  mkdir -p "$sdir" && cd "$sdir" || exit 1
  for tool in sipp "$@"; do
    command -v "$tool" >/dev/null 2>&1 && continue
    [ "$tool" = sipp ] && tool="sipp (Debian package sip-tester)"
    echo "$suite suite skipped: $tool is not installed"
    exit 77
  done
}

pid=
callee=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -n "$callee" ] && kill "$callee" 2>/dev/null
}
trap cleanup EXIT INT TERM HUP
fail=0
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

start() {  # start [valgrind]: runs the server on free ports, sets pid, udp, tcp
  rm -f server.out server.err
  if [ "${1:-}" = valgrind ]; then
    # shellcheck disable=SC2086
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --error-exitcode=99 "$server" $server_args --listen udp:127.0.0.1:0 --listen tcp:127.0.0.1:0 \
      >server.out 2>server.err &
  else
    # shellcheck disable=SC2086
    "$server" $server_args --listen udp:127.0.0.1:0 --listen tcp:127.0.0.1:0 >server.out 2>server.err &
  fi
  pid=$!
  for _ in $(seq 1 100); do
    udp=$(sed -n 's/^listening on udp port \([0-9]*\).*/\1/p' server.out 2>/dev/null)
    tcp=$(sed -n 's/^listening on tcp port \([0-9]*\).*/\1/p' server.out 2>/dev/null)
    [ -n "$udp" ] && [ -n "$tcp" ] && return 0
    sleep 0.1
  done
  bad "$(basename "$server") did not start: $(cat server.err)"
  return 1
}

stop() {  # stop NAME: SIGTERM, the exit status must be 0 (valgrind: 99 on errors)
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"; bad "$1: $(basename "$server") did not stop on SIGTERM"
  elif wait "$pid"; then
    ok "$1: $(basename "$server") stopped cleanly"
  else
    bad "$1: $(basename "$server") exited $? ($(tail -5 server.err))"
  fi
  pid=
}

# callee_start T SIPP-ARGS...: a sipp callee (transport T: u1, t1) on a
# free port (sets callee, cport); stopped with the server on exit.
callee_start() {
  t=$1; shift
  for _ in $(seq 1 20); do
    cport=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
    timeout 300 sipp -i 127.0.0.1 -p "$cport" -t "$t" -nostdin "$@" >callee.log 2>&1 &
    callee=$!
    sleep 0.3
    kill -0 "$callee" 2>/dev/null && return 0
  done
  bad "no free port for the callee"
  return 1
}

callee_stop() {  # callee_stop NAME [wait: its scenario must pass]
  if [ "${2:-}" = wait ]; then
    if wait "$callee"; then ok "$1: the callee's scenario passed"
    else bad "$1: the callee's scenario failed ($(tail -3 callee.log))"; fi
  else
    kill "$callee" 2>/dev/null
    wait "$callee" 2>/dev/null
  fi
  callee=
}

# baresip_call NAME T PORT: baresip bob registers (transport T, udp or
# tcp) with the server on PORT and answers by itself; baresip alice
# registers and calls him, then hangs up: both must see the call
# established, bob its end. Needs baresip (Debian baresip-core).
baresip_call() {
  base=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
  for who in alice bob; do
    mkdir -p "bs-$who"
    lp=$base; [ $who = bob ] && lp=$((base + 10))   # baresip takes the next port for TLS
    printf 'poll_method\t\tepoll\nsip_listen\t\t127.0.0.1:%s\nnet_interface\t\t127.0.0.1\n' "$lp" \
      >"bs-$who/config"
    printf 'call_local_timeout\t120\nmodule_path\t\t/usr/lib/baresip/modules\nmodule\t\t\tg711.so\n' \
      >>"bs-$who/config"
    printf 'module_app\t\taccount.so\nmodule_app\t\tcontact.so\nmodule_app\t\tmenu.so\n' \
      >>"bs-$who/config"
    : >"bs-$who/contacts"
  done
  echo "<sip:alice@127.0.0.1:$3;transport=$2>;regint=60" >bs-alice/accounts
  echo "<sip:bob@127.0.0.1:$3;transport=$2>;regint=60;answermode=auto" >bs-bob/accounts
  timeout 20 baresip -f bs-bob -t 6 >bs-bob.log 2>&1 &
  bob=$!
  sleep 1
  timeout 20 baresip -f bs-alice -t 3 -e "/dial sip:bob@127.0.0.1:$3" >bs-alice.log 2>&1
  arc=$?
  wait "$bob"
  brc=$?
  if [ $arc -eq 0 ] && [ $brc -eq 0 ] && grep -aq "Call established" bs-alice.log &&
     grep -aq "Call established" bs-bob.log && grep -aq "terminated" bs-bob.log; then
    ok "$1"
  else
    bad "$1: alice exit $arc, bob exit $brc"
    tail -n 3 bs-alice.log bs-bob.log
  fi
}

sipp_run() {  # sipp_run NAME SIPP-ARGS...: must exit 0, no failed call, no unexpected message
  name=$1; shift
  rm -f screen.txt stat.csv
  timeout 120 sipp "$@" -nostdin -p 0 -timeout 60s -timeout_error -max_recv_loops 10000 \
    -trace_screen -screen_file screen.txt -trace_stat -stf stat.csv >sipp.log 2>&1
  rc=$?
  failed=$(sed -n 's/^ *Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' screen.txt | tail -n 1)
  # sipp's cumulative count of calls that failed on an unexpected message.
  unexp=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "FailedUnexpectedMessage(C)") c = i }
                     END { print (c ? $c : "?") }' stat.csv 2>/dev/null)
  if [ "$rc" -eq 0 ] && [ "${failed:-1}" = 0 ] && [ "$unexp" = 0 ]; then
    ok "$name"
  else
    bad "$name: sipp exit $rc, failed ${failed:-?}, unexpected $unexp"
    tail -20 sipp.log
  fi
}
