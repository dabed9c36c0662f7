#!/bin/sh
# Soak (a benchmark, not a test): sipsrv-server as a stateful proxy and
# registrar under steady load for a bounded time, checking that no call
# fails and that memory stays flat.
#
#   bench/soak.sh [BUILD-DIR]             (default: build)
#
# Load, all UDP on 127.0.0.1: calls (sipp uac-call.xml -> sipsrv-server ->
# a registered sipp callee, uas-call.xml) at SOAK_RATE calls/s, and
# registrations (uac-register.xml, SOAK_USERS users refreshing in turn) at
# SOAK_REG_RATE/s, for SOAK_SECONDS. The server's RSS is sampled every
# second (rss.csv). At the end it prints the calls and registrations made
# and failed, the RSS of the second minute and of the last minute (the
# first minute fills the transaction tables: Timers J/K/L keep 32 s of
# them), and a verdict: PASS when no call or registration failed and the
# last minute's mean RSS is within 10% of the second minute's.
#
# Environment: SOAK_SECONDS (600), SOAK_RATE (1600: 80% of 2000 calls/s,
# the highest rate bench/compare.sh ran with zero failures on the 2-core
# machine), SOAK_REG_RATE (200), SOAK_USERS (10000), SOAK_OUT (a temporary
# directory, kept and named at the end).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
secs=${SOAK_SECONDS:-600}
rate=${SOAK_RATE:-1600}
reg_rate=${SOAK_REG_RATE:-200}
nusers=${SOAK_USERS:-10000}
out=${SOAK_OUT:-$(mktemp -d /tmp/sipsrv-soak-XXXXXX)}
mkdir -p "$out"
srv_bin=$build/examples/sipsrv-server
[ -x "$srv_bin" ] || { echo "soak.sh: no $srv_bin; build first" >&2; exit 2; }
command -v sipp >/dev/null 2>&1 || { echo "soak.sh: needs sipp (Debian sip-tester)" >&2; exit 2; }

pids=
stop_all() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  pids=
}
trap stop_all EXIT INT TERM

free_port() {
  for _ in $(seq 1 50); do
    p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
    grep -qi "$(printf ':%04X ' "$p")" /proc/net/udp 2>/dev/null || { echo "$p"; return; }
  done
  echo "soak.sh: no free port" >&2
  exit 1
}

stat_col() {  # stat_col CSV NAME: the last value of column NAME in sipp's stat CSV
  awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
    { v = $c } END { print (c && v != "") ? v : "?" }' "$1" 2>/dev/null || echo "?"
}

{ echo SEQUENTIAL; i=1; while [ $i -le "$nusers" ]; do echo "u$i"; i=$((i + 1)); done; } > "$out/users.csv"

cport=$(free_port)
sipp -sf "$here/scenarios/uas-call.xml" -i 127.0.0.1 -p "$cport" -s callee -nostdin \
  -timer_resol 1 -buff_size 4194304 > "$out/callee.log" 2>&1 &
pids="$pids $!"
port=$(free_port)
"$srv_bin" --mode stateful --domain 127.0.0.1 --listen "udp:127.0.0.1:$port" > "$out/server.log" 2>&1 &
srv=$!
pids="$pids $srv"
n=0
while ! grep -q '^listening on udp' "$out/server.log" 2>/dev/null && [ $n -lt 50 ]; do
  sleep 0.1; n=$((n + 1))
done
(cd "$out" && sipp "127.0.0.1:$port" -sf "$here/../tests/proxy/register-contact.xml" -s callee \
  -key contact "sip:callee@127.0.0.1:$cport" -i 127.0.0.1 -p 0 -m 1 -nostdin \
  -recv_timeout 5000 > /dev/null 2>&1) || { echo "soak.sh: registering the callee failed" >&2; exit 1; }

echo "soak: sipsrv-server (stateful proxy + registrar) on UDP $port, $rate calls/s and $reg_rate REGISTER/s for $secs s; output $out"
ncalls=$((rate * secs))
nregs=$((reg_rate * secs))
(cd "$out" && mkdir -p calls regs)
(cd "$out/calls" && sipp "127.0.0.1:$port" -sf "$here/scenarios/uac-call.xml" -s callee -i 127.0.0.1 -p 0 \
  -m "$ncalls" -r "$rate" -l "$ncalls" -nostdin -timer_resol 1 -buff_size 4194304 \
  -recv_timeout 5000 -timeout $((secs + 120))s -trace_stat -stf stat.csv -fd 10 > sipp.out 2>&1) &
calls=$!
pids="$pids $calls"
(cd "$out/regs" && sipp "127.0.0.1:$port" -sf "$here/scenarios/uac-register.xml" -inf "$out/users.csv" \
  -i 127.0.0.1 -p 0 -m "$nregs" -r "$reg_rate" -l "$nregs" -nostdin -timer_resol 1 \
  -buff_size 4194304 -recv_timeout 5000 -timeout $((secs + 120))s -trace_stat -stf stat.csv -fd 10 \
  > sipp.out 2>&1) &
regs=$!
pids="$pids $regs"

echo "second,rss_kb" > "$out/rss.csv"
t=0
while kill -0 "$calls" 2>/dev/null || kill -0 "$regs" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$srv/status" 2>/dev/null || echo 0)
  echo "$t,$rss" >> "$out/rss.csv"
  t=$((t + 1))
  [ $t -le $((secs + 300)) ] || break
  sleep 1
done
wait "$calls" 2>/dev/null || true
wait "$regs" 2>/dev/null || true
kill -USR1 "$srv" 2>/dev/null || true
sleep 0.5

c_ok=$(stat_col "$out/calls/stat.csv" 'SuccessfulCall(C)')
c_fail=$(stat_col "$out/calls/stat.csv" 'FailedCall(C)')
r_ok=$(stat_col "$out/regs/stat.csv" 'SuccessfulCall(C)')
r_fail=$(stat_col "$out/regs/stat.csv" 'FailedCall(C)')
awk -F, -v secs="$secs" -v c_ok="$c_ok" -v c_fail="$c_fail" -v r_ok="$r_ok" -v r_fail="$r_fail" \
  -v ncalls="$ncalls" -v nregs="$nregs" 'NR > 1 {
    s = $1 + 0; r = $2 + 0; last = s; rs[s] = r
    if (r > peak) peak = r
  } END {
    a = 0; an = 0; for (s = 60; s < 120 && s <= last; s++) { a += rs[s]; an++ }
    b = 0; bn = 0; for (s = last - 59; s <= last; s++) if (s >= 0) { b += rs[s]; bn++ }
    a = an ? a / an : 0; b = bn ? b / bn : 0
    printf "calls: %s of %d completed, %s failed\n", c_ok, ncalls, c_fail
    printf "registrations: %s of %d completed, %s failed\n", r_ok, nregs, r_fail
    printf "RSS: second minute %.1f MB mean, last minute %.1f MB mean, peak %.1f MB\n", a / 1024, b / 1024, peak / 1024
    flat = a > 0 && b <= a * 1.10
    ok = c_fail == "0" && r_fail == "0" && c_ok == ncalls && r_ok == nregs
    printf "soak: %s\n", (ok && flat) ? "PASS" : "FAIL" (ok ? "" : " (failed calls or registrations)") (flat ? "" : " (memory grew)")
  }' "$out/rss.csv" | tee "$out/summary.txt"
grep 'up ' "$out/server.log" | tail -n 1
echo "data: $out"
grep -q 'soak: PASS' "$out/summary.txt"
