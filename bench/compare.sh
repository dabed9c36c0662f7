#!/bin/sh
# sipsrv against Kamailio, role by role (a benchmark, not a test).
#
# For each role -- registrar (REGISTER), stateless proxy, stateful proxy,
# call-stateful proxy (dialogs), redirect (INVITE -> 302 -> ACK) and UAS --
# start the sipsrv example and Kamailio (one minimal configuration per role
# in bench/kamailio/), and at each offered rate drive one, then the other,
# with sipp over UDP on 127.0.0.1 for a bounded time (the CPU counted over
# its last BENCH_SECONDS, after BENCH_WARMUP seconds of the same load: a
# server just started grows its state and touches fresh memory, and its
# transactions' 32 s timers have not fired yet); for calls, the same
# against a raw UDP relay that parses nothing (bench/udp_relay.c: the floor).
# For each point it measures from /proc the server's CPU time (schedstat of
# every thread of the server and of all its child processes: Kamailio's
# workers and timers count), sipp's failed calls and retransmissions (its
# -trace_stat CSV), the response time percentiles (-trace_rtt) and
# sipsrv's peak RSS (VmHWM), and the CPU steal of the server's CPU (a busy
# virtual machine host inflates the CPU figures). It prints one line per
# role and writes a PNG (gnuplot) of CPU per transaction and p95 latency
# against the offered rate.
#
#   bench/compare.sh [BUILD-DIR]          (default: build)
#
# A transaction (txn) is what one sipp call of the role does: one REGISTER
# (registrar); one call INVITE/1xx/200/ACK/BYE/200 (stateless, stateful,
# dialog, uas, floor); one INVITE/302/ACK (redirect). Rates are txn/s.
#
# Fairness: the sipsrv examples run one thread; Kamailio runs
# BENCH_KAM_CHILDREN UDP workers (-n, default 1) for every role, plus its
# main and timer processes, all counted. Both log warnings only, keep
# everything in memory and listen on UDP 127.0.0.1 only.
#
# Environment (all optional):
#   BENCH_SECONDS=10                  seconds of load per rate
#   BENCH_RATES="500 1000 2000 4000 8000"   offered rates, ascending (txn/s)
#   BENCH_ROLES="registrar stateless stateful dialog redirect uas floor"
#   BENCH_KAM_CHILDREN=1              Kamailio UDP workers (-n)
#   BENCH_USERS=10000                 registrar: distinct users refreshing
#   BENCH_PIN=1                       server on the last CPU, sipp on the
#                                     others (taskset; 0: no pinning)
#   BENCH_WARMUP=35                   seconds of load before each point's
#                                     measured seconds: both servers in
#                                     their steady state (transactions live
#                                     32 s, Timer J/L/M; Kamailio's shared
#                                     memory touched), not growing
#   BENCH_REPEAT=1                    runs of each point (sipsrv and Kamailio
#                                     alternate); the least CPU per txn counts
#   BENCH_STOP_ON_FAIL=1              stop raising a server's rate after a
#                                     step that failed (0: run every rate)
#   BENCH_OUT=/tmp/sipsrv-bench-DATE  output directory (results.tsv,
#                                     compare.png, raw/ with sipp's files)
#
# Installs kamailio, gnuplot-nox and sip-tester from Debian when missing and
# run as root (Kamailio's own service is kept from starting); otherwise it
# says what to install. A quick run:
#   BENCH_SECONDS=3 BENCH_RATES="200 500" BENCH_WARMUP=0 bench/compare.sh build
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
ex=$build/examples
secs=${BENCH_SECONDS:-10}
rates=${BENCH_RATES:-500 1000 2000 4000 8000}
roles=${BENCH_ROLES:-registrar stateless stateful dialog redirect uas floor}
children=${BENCH_KAM_CHILDREN:-1}
nusers=${BENCH_USERS:-10000}
stop_on_fail=${BENCH_STOP_ON_FAIL:-1}
repeat=${BENCH_REPEAT:-1}
warmup=${BENCH_WARMUP:-35}
out=${BENCH_OUT:-/tmp/sipsrv-bench-$(date +%Y%m%d-%H%M%S)}
tests=$here/../tests

for b in sipsrv-registrar sipsrv-stateless-proxy sipsrv-proxy sipsrv-redirect sipsrv-uas; do
  if [ ! -x "$ex/$b" ]; then
    echo "compare.sh: no $ex/$b; build first:" >&2
    echo "  meson setup BUILD --buildtype=release && ninja -C BUILD" >&2
    exit 2
  fi
done

# --- what the benchmark needs from Debian -----------------------------------
need=
command -v sipp >/dev/null 2>&1 || need="$need sip-tester"
command -v kamailio >/dev/null 2>&1 || need="$need kamailio"
command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v pgrep >/dev/null 2>&1 || need="$need procps"
if [ -n "$need" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "compare.sh: missing packages; as root run:" >&2
    echo "  apt-get install -y --no-install-recommends$need" >&2
    echo "  (and keep the kamailio service from starting: systemctl disable --now kamailio)" >&2
    exit 2
  fi
  # Kamailio's Debian service must not start on install: a policy-rc.d
  # that says no (101) for the time of the install, unless one is there.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  echo "installing:$need"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need >/dev/null ||
    { apt-get update >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need >/dev/null; }
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now kamailio >/dev/null 2>&1 || true
  fi
fi

mkdir -p "$out/raw" "$out/plot"
tsv=$out/results.tsv
printf 'role\tserver\trate\trep\tseconds\ttxns\tok\tfailed\tretrans\tcpu_ms\tus_per_txn\tp50_ms\tp95_ms\tp99_ms\tachieved_rate\twall_s\tsteal_pct\tpeak_rss_kb\tstatus\n' >"$tsv"

relay=
case " $roles " in *" floor "*)
  relay=$out/udp_relay
  cc -O2 -o "$relay" "$here/udp_relay.c" ;;
esac

i=1
{ echo SEQUENTIAL; while [ "$i" -le "$nusers" ]; do echo "u$i"; i=$((i + 1)); done; } >"$out/users.csv"

# --- processes: every one started is tracked and stopped on exit -----------
pids=
pid_sipsrv='' pid_kamailio='' pid_relay=''
tree_pids() (  # PID and all its descendants
  echo "$1"
  for c in $(pgrep -P "$1"); do tree_pids "$c"; done
)

stop() {  # stop PID: SIGTERM, wait up to 3 s, then SIGKILL what is left of its tree
  p=$1
  [ -n "$p" ] || return 0
  comm=$(cat "/proc/$p/comm" 2>/dev/null) || comm=
  kids=$(tree_pids "$p" 2>/dev/null) || kids=
  kill "$p" 2>/dev/null || true
  n=0
  while kill -0 "$p" 2>/dev/null && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
  for k in $kids; do
    if [ "$(cat "/proc/$k/comm" 2>/dev/null)" = "$comm" ]; then kill -9 "$k" 2>/dev/null || true; fi
  done
  wait "$p" 2>/dev/null || true
  pids=$(echo " $pids " | sed "s/ $p / /")
}

cleanup() {
  for p in $pids; do stop "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # a UDP port no socket on this machine has
  while :; do
    fp=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
    grep -qi "$(printf ':%04X ' "$fp")" /proc/net/udp /proc/net/udp6 2>/dev/null || break
  done
  echo "$fp"
}

bound() {  # bound PORT: is a UDP socket bound to PORT?
  grep -qi "$(printf ':%04X 00000000:0000' "$1")" /proc/net/udp 2>/dev/null
}

cpu_ns() {  # CPU time of PID's process tree, every thread, in ns
  for p in $(tree_pids "$1"); do cat "/proc/$p/task/"*/schedstat 2>/dev/null; done |
    awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# Pinning (BENCH_PIN=1, the default, with 2 CPUs or more): the server under
# test, all its processes, on the last CPU; both sipps on the others. Each
# server gets one core, and sipp's bursts do not land on the server's.
ncpu=$(nproc 2>/dev/null || echo 1)
srv_cpu=
sipp_cpus=
if [ "${BENCH_PIN:-1}" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  srv_cpu=$((ncpu - 1))
  sipp_cpus=0
  [ "$ncpu" -eq 2 ] || sipp_cpus=0-$((ncpu - 2))
fi
on_server_cpu() {  # exec the command on the server's CPU (run it with &)
  if [ -n "$srv_cpu" ]; then exec taskset -c "$srv_cpu" "$@"; else exec "$@"; fi
}
on_sipp_cpu() {  # exec the command on sipp's CPUs (run it with & or in a subshell)
  if [ -n "$sipp_cpus" ]; then exec taskset -c "$sipp_cpus" "$@"; else exec "$@"; fi
}

# CPU steal (the time a virtual machine's host ran something else) of the
# server's CPU, in USER_HZ ticks: the kernel counts it into the running
# task's schedstat time, so a point with steal has an inflated CPU figure.
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
steal_cpus=1
[ -n "$srv_cpu" ] || steal_cpus=$ncpu
steal() {
  awk -v c="cpu$srv_cpu" '$1 == c { print $9 + 0; exit }' /proc/stat
}

hwm_kb() {  # peak resident set of PID
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# Both sipps (caller and callee) run with -timer_resol 1 (a 1 ms scheduler
# tick: the default 10 ms shows in the response times) and -buff_size 4 MB
# (capped by net.core.rmem_max), so that sipp's own drops are not blamed on
# the server.
callee=
cport=
start_callee() {  # a sipp UAS on a free port, answering with uas-call.xml
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    cport=$(free_port)
    on_sipp_cpu sipp -sf "$here/scenarios/uas-call.xml" -i 127.0.0.1 -p "$cport" -s callee -nostdin \
      -timer_resol 1 -buff_size 4194304 >"$out/raw/callee.log" 2>&1 &
    callee=$!
    pids="$pids $callee"
    n=0
    while ! bound "$cport" && kill -0 "$callee" 2>/dev/null && [ $n -lt 30 ]; do
      sleep 0.1; n=$((n + 1))
    done
    bound "$cport" && kill -0 "$callee" 2>/dev/null && return 0
    stop "$callee"
  done
  echo "compare.sh: cannot start the callee sipp (see $out/raw/callee.log)" >&2
  exit 1
}

srv=
port=
start_sipsrv() {  # start_sipsrv LOG BINARY ARGS...: on a free port; sets srv, port
  log=$1; shift
  on_server_cpu "$@" --listen udp:127.0.0.1:0 >"$log" 2>"$log.err" &
  srv=$!
  pids="$pids $srv"
  n=0
  while ! grep -q '^listening on udp' "$log" 2>/dev/null && [ $n -lt 50 ]; do
    sleep 0.1; n=$((n + 1))
  done
  port=$(sed -n 's/^listening on udp port \([0-9]*\).*/\1/p' "$log")
  if [ -z "$port" ]; then
    echo "compare.sh: $1 did not start:" >&2
    cat "$log.err" >&2
    exit 1
  fi
}

start_kamailio() {  # start_kamailio LOG ROLE: its config on a free port; sets srv, port
  log=$1
  mkdir -p "$out/raw/kamailio-run"
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    # -DD: stay in the foreground but fork the workers (-D alone ignores
    # -n); -E: log to stderr; -m 1024: tm needs about 1 GB of shared
    # memory at these rates (the same for every role).
    on_server_cpu kamailio -f "$here/kamailio/$2.cfg" -DD -E -n "$children" -m 1024 -M 16 \
      -l "udp:127.0.0.1:$port" -Y "$out/raw/kamailio-run" -w "$out/raw/kamailio-run" \
      -A "CALLEE=\"sip:127.0.0.1:${cport:-9}\"" >"$log" 2>&1 &
    srv=$!
    pids="$pids $srv"
    n=0
    while ! bound "$port" && kill -0 "$srv" 2>/dev/null && [ $n -lt 100 ]; do
      sleep 0.1; n=$((n + 1))
    done
    if bound "$port" && kill -0 "$srv" 2>/dev/null; then
      sleep 1   # the workers fork after the socket is bound
      kill -0 "$srv" 2>/dev/null && return 0
    fi
    stop "$srv"
  done
  echo "compare.sh: kamailio ($2.cfg) did not start:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

register_callee() {  # bind sip:callee@127.0.0.1 to the callee's address at the server
  if ! (cd "$out/raw" && sipp "127.0.0.1:$port" -sf "$tests/proxy/register-contact.xml" -s callee \
      -key contact "sip:callee@127.0.0.1:$cport" -i 127.0.0.1 -p 0 -m 1 -nostdin \
      -recv_timeout 5000 >/dev/null 2>&1); then
    echo "compare.sh: registering the callee at $1 failed" >&2
    exit 1
  fi
}

stat_col() {  # stat_col CSV NAME: NAME's value on the last line of sipp's stat CSV
  awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
    { v = $c } END { print (c && v != "") ? v : "?" }' "$1" 2>/dev/null || echo "?"
}

# measure ROLE SERVER RATE REP SCENARIO SIPP-ARGS...: one point against the
# server at $srv, $port; appends to the TSV, prints a progress line,
# returns 1 when the point failed.
measure() {
  role=$1 name=$2 rate=$3 rep=$4 scen=$5; shift 5
  d=$out/raw/$role-$name-$rate-$rep
  rm -rf "$d"; mkdir -p "$d"
  txns=$((rate * secs))
  all=$((rate * (secs + warmup)))
  # -l: sipp never holds calls back, so an overloaded server shows as
  # retransmissions and failed calls, not as a lower offered rate. The
  # first BENCH_WARMUP seconds are load, not measured (their failures count).
  (cd "$d" && on_sipp_cpu timeout $(((secs + warmup) * 3 + 60)) sipp "127.0.0.1:$port" \
      -sf "$here/scenarios/$scen" \
      -i 127.0.0.1 -p 0 -m "$all" -r "$rate" -l "$all" -nostdin -timer_resol 1 -buff_size 4194304 "$@" \
      -recv_timeout 5000 -timeout $(((secs + warmup) * 2 + 30))s -timeout_error \
      -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 \
      -trace_screen -screen_file screen.txt -trace_err -max_log_size 1000000 \
      >sipp.out 2>&1) &
  spid=$!
  if [ "$warmup" -gt 0 ]; then sleep "$warmup"; fi
  c0=$(cpu_ns "$srv"); t0=$(date +%s%N); s0=$(steal)
  if wait "$spid"; then rc=0; else rc=$?; fi
  s1=$(steal); t1=$(date +%s%N); c1=$(cpu_ns "$srv")
  rss=0; [ "$name" = sipsrv ] && rss=$(hwm_kb "$srv")
  ok=$(stat_col "$d/stat.csv" 'SuccessfulCall(C)')
  failed=$(stat_col "$d/stat.csv" 'FailedCall(C)')
  retrans=$(stat_col "$d/stat.csv" 'Retransmissions(C)')
  pct=$(cat "$d"/*_rtt.csv 2>/dev/null | awk -F';' 'NR > 1 && $3 == 1 { print $2 }' | sort -n |
    awk '{ v[NR] = $1 } END {
      if (!NR) { print "? ? ?"; exit }
      split("50 95 99", q, " ")
      for (i = 1; i <= 3; i++) { k = int((NR * q[i] + 99) / 100); if (k < 1) k = 1; printf "%s ", v[k] }
      print "" }')
  read -r p50 p95 p99 <<EOF
$pct
EOF
  status=ok
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  if [ "$rc" = 124 ]; then status=TIMEOUT
  elif [ "$failed" != 0 ] || [ "$ok" != "$all" ]; then status=FAILED
  elif [ "$rc" != 0 ]; then status=SIPP-ERROR
  elif awk -v w="$wall" -v s="$secs" 'BEGIN { exit !(w > s * 1.2 + 1) }'; then status=SLOW
  fi
  awk -v OFS='\t' -v role="$role" -v name="$name" -v rate="$rate" -v rep="$rep" -v secs="$secs" -v n="$txns" \
    -v ok="$ok" -v f="$failed" -v r="$retrans" -v c0="$c0" -v c1="$c1" -v p50="$p50" -v p95="$p95" \
    -v p99="$p99" -v wall="$wall" -v rss="$rss" -v st="$status" \
    -v steal=$((s1 - s0)) -v ncpu="$steal_cpus" -v hz="$hz" 'BEGIN {
      cpu = (c1 - c0) / 1e6
      print role, name, rate, rep, secs, n, ok, f, r, sprintf("%.1f", cpu), sprintf("%.2f", cpu * 1000 / n),
        p50, p95, p99, sprintf("%.0f", n / wall), wall, sprintf("%.1f", 100 * steal / hz / ncpu / wall),
        rss, st }' >>"$tsv"
  tail -n 1 "$tsv" | awk -F'\t' '{ printf "  %-9s %-8s %6s/s  %8s us/txn  failed %s  retrans %s  p50/p95/p99 %s/%s/%s ms  %s txn/s  steal %s%%  %s\n",
    $1, $2, $3, $11, $8, $9, $12, $13, $14, $15, $17, $19 }'
  [ "$status" = ok ]
}

use() {  # use NAME: measure the server started as NAME (see keep)
  eval "srv=\$pid_$1 port=\$port_$1"
}
keep() {  # keep NAME: remember the server just started (srv, port) as NAME
  eval "pid_$1=\$srv port_$1=\$port"
}

# sweep ROLE "SERVERS" SCENARIO SIPP-ARGS...: every rate against the running
# servers, alternating between them at each rate (so that both see the same
# machine), BENCH_REPEAT times; a server that failed a step is not raised
# further (BENCH_STOP_ON_FAIL=1).
sweep() {
  srole=$1 names=$2; shift 2
  done_names=
  for srate in $rates; do
    r=1
    while [ "$r" -le "$repeat" ]; do
      for sname in $names; do
        case " $done_names " in *" $sname "*) continue ;; esac
        use "$sname"
        if ! measure "$srole" "$sname" "$srate" "$r" "$@" && [ "$stop_on_fail" = 1 ]; then
          done_names="$done_names $sname"
        fi
      done
      r=$((r + 1))
    done
  done
}

echo "sipsrv vs Kamailio $(kamailio -v 2>/dev/null | sed -n 's/^version: kamailio \([^ ]*\).*/\1/p'), UDP on 127.0.0.1, ${secs}s per rate after ${warmup}s of load, rates (txn/s): $rates"
echo "Kamailio: $children UDP worker(s) (-n $children) for every role; sipsrv examples: one thread"
if [ -n "$srv_cpu" ]; then
  echo "server on CPU $srv_cpu, sipp on CPU $sipp_cpus (BENCH_PIN=0: no pinning); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
else
  echo "no CPU pinning; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
echo "output: $out"
for role in $roles; do
  case $role in
  registrar)
    start_sipsrv "$out/raw/sipsrv-$role.log" "$ex/sipsrv-registrar" --domain 127.0.0.1; keep sipsrv
    start_kamailio "$out/raw/kamailio-$role.log" registrar; keep kamailio
    sweep "$role" "sipsrv kamailio" uac-register.xml -inf "$out/users.csv" ;;
  stateless)
    start_callee
    start_sipsrv "$out/raw/sipsrv-$role.log" "$ex/sipsrv-stateless-proxy" --to "127.0.0.1:$cport"
    keep sipsrv
    start_kamailio "$out/raw/kamailio-$role.log" stateless; keep kamailio
    sweep "$role" "sipsrv kamailio" uac-call.xml -s callee ;;
  stateful | dialog)
    start_callee
    start_sipsrv "$out/raw/sipsrv-$role.log" "$ex/sipsrv-proxy" --domain 127.0.0.1 --mode "$role"
    keep sipsrv; register_callee sipsrv
    start_kamailio "$out/raw/kamailio-$role.log" "$role"; keep kamailio; register_callee kamailio
    sweep "$role" "sipsrv kamailio" uac-call.xml -s callee ;;
  redirect)
    cport=$(free_port)   # the callee's contact: only named in the 302, never called
    start_sipsrv "$out/raw/sipsrv-$role.log" "$ex/sipsrv-redirect" --domain 127.0.0.1
    keep sipsrv; register_callee sipsrv
    start_kamailio "$out/raw/kamailio-$role.log" redirect; keep kamailio; register_callee kamailio
    sweep "$role" "sipsrv kamailio" uac-redirect.xml -s callee ;;
  uas)
    start_sipsrv "$out/raw/sipsrv-$role.log" "$ex/sipsrv-uas"; keep sipsrv
    start_kamailio "$out/raw/kamailio-$role.log" uas; keep kamailio
    sweep "$role" "sipsrv kamailio" uac-call.xml -s uas ;;
  floor)
    start_callee
    start_sipsrv "$out/raw/relay.log" "$relay" --to "127.0.0.1:$cport"; keep relay
    sweep floor relay uac-call.xml -s callee ;;
  *)
    echo "compare.sh: unknown role $role" >&2; exit 2 ;;
  esac
  # this role's servers and callee
  for p in $pid_sipsrv $pid_kamailio $pid_relay $callee; do stop "$p"; done
  pid_sipsrv='' pid_kamailio='' pid_relay='' callee=''
done

# Per role, server and rate over the repetitions: the least CPU per txn and
# p95 (noise only adds), ok only if every repetition was, the largest RSS.
awk -F'\t' -v OFS='\t' 'NR > 1 {
    k = $1 OFS $2 OFS $3
    if (!(k in us)) { order[++n] = k; us[k] = $11; p95[k] = $13; ok[k] = 1; rss[k] = 0; st[k] = 0 }
    if ($11 + 0 < us[k] + 0) us[k] = $11
    if ($13 + 0 < p95[k] + 0) p95[k] = $13
    if ($19 != "ok") ok[k] = 0
    if ($18 + 0 > rss[k]) rss[k] = $18 + 0
    if ($17 + 0 > st[k]) st[k] = $17 + 0
  } END { for (i = 1; i <= n; i++) print order[i], us[order[i]], p95[order[i]], ok[order[i]], rss[order[i]], st[order[i]] }' \
  "$tsv" >"$out/plot/points.tsv"

# --- the summary: one line per role -----------------------------------------
echo
echo "txn = one REGISTER (registrar) | one call INVITE..BYE (stateless, stateful, dialog, uas, floor) | INVITE/302/ACK (redirect)"
echo "us/txn = server CPU (all threads and processes) per txn at the highest rate both servers ran with zero failures (rate shown; least of BENCH_REPEAT=$repeat runs)"
echo "max-rate = highest offered rate (txn/s) with zero failed calls, no sipp timeout and the rate achieved"
echo "sipsrv-peak-rss = VmHWM of the sipsrv example after its max-rate step (the TSV has it after every step)"
awk -F'\t' -v roles="$roles" '
  { key = $1 SUBSEP $2 SUBSEP $3; us[key] = $4; st[key] = ($6 ? "ok" : "failed")
    if ($2 == "sipsrv" && ($6 || !(($1) in rss))) rss[$1] = $7
    if ($6 && $3 + 0 > max[$1, $2]) max[$1, $2] = $3 + 0
    if (!(($1, $3) in seen)) { seen[$1, $3] = 1; rl[$1] = rl[$1] " " $3 } }
  END {
    n = split(roles, r, " ")
    for (i = 1; i <= n; i++) {
      role = r[i]
      m = split(rl[role], rr, " ")
      if (role == "floor") {
        at = max[role, "relay"]; if (!at) at = rr[1]
        printf "%-10s relay  %8s us/txn  max-rate %s  (udp relay, no parsing; at %s/s)\n",
          role, us[role, "relay", at], max[role, "relay"] + 0, at
        continue
      }
      at = ""
      for (j = 1; j <= m; j++)
        if (st[role, "sipsrv", rr[j]] == "ok" && st[role, "kamailio", rr[j]] == "ok") at = rr[j]
      if (at == "") at = rr[1]
      s = us[role, "sipsrv", at]; k = us[role, "kamailio", at]
      ratio = (s != "" && k + 0 > 0) ? sprintf("%.2f", s / k) : "?"
      printf "%-10s sipsrv %8s us/txn  kamailio %8s us/txn  ratio %5s  max-rate sipsrv %5d kamailio %5d  sipsrv-peak-rss %.1f MB  (at %s/s)\n",
        role, s == "" ? "?" : s, k == "" ? "?" : k, ratio, max[role, "sipsrv"], max[role, "kamailio"],
        rss[role] / 1024, at
    }
  }' "$out/plot/points.tsv" | tee "$out/summary.txt"
awk -F'\t' 'NR > 1 && $17 + 0 > 5 { n++ } END {
  if (n) printf "warning: %d point(s) had more than 5%% CPU steal (a busy host): their CPU figures are inflated, see steal_pct in the TSV\n", n }' \
  "$tsv" | tee -a "$out/summary.txt"

# --- the plot ---------------------------------------------------------------
for role in $roles; do
  for name in sipsrv kamailio relay; do
    awk -F'\t' -v r="$role" -v s="$name" '$1 == r && $2 == s { print $3, $4, $5, $6 }' "$out/plot/points.tsv" \
      >"$out/plot/$role-$name.dat"
    [ -s "$out/plot/$role-$name.dat" ] || rm -f "$out/plot/$role-$name.dat"
  done
done
prows=0
for role in $roles; do [ "$role" = floor ] || prows=$((prows + 1)); done
if [ "$prows" -gt 0 ]; then
  {
    echo "set terminal pngcairo size 1400,$((300 * prows)) font ',9'"
    echo "set output '$out/compare.png'"
    echo "set multiplot layout $prows,2 title 'sipsrv vs Kamailio: server CPU per txn and p95 response time against the offered rate (${secs}s per rate, UDP, 127.0.0.1)'"
    echo "set logscale x; set grid; set key outside right top; set xlabel 'offered rate (txn/s)'"
    echo "set xtics ($(echo "$rates" | awk '{ $1 = $1; gsub(/ /, ", "); print }'))"
    echo "set offsets graph 0.05, graph 0.05, 0, 0"
    for role in $roles; do
      [ "$role" = floor ] && continue
      for col in 2 3; do
        if [ $col = 2 ]; then
          echo "set title '$role: server CPU per txn'; set ylabel 'us/txn'; set yrange [0:*]"
        else
          echo "set title '$role: p95 response time'; set ylabel 'ms'; set yrange [0:*]"
        fi
        cmd=
        lc=1
        for name in sipsrv kamailio; do
          f=$out/plot/$role-$name.dat
          # zero-failure points joined; a failed step as an open circle
          [ -f "$f" ] && cmd="$cmd${cmd:+, }'$f' using 1:(\$4 > 0 ? \$$col : 1/0) with linespoints lw 2 lc $lc title '$name'"
          [ -f "$f" ] && grep -q ' 0$' "$f" &&
            cmd="$cmd, '$f' using 1:(\$4 > 0 ? 1/0 : \$$col) with points pt 6 ps 1.5 lc $lc title '$name (failed)'"
          lc=$((lc + 1))
        done
        case $role in stateless | stateful | dialog | uas)
          f=$out/plot/floor-relay.dat
          [ -f "$f" ] && [ $col = 2 ] &&
            cmd="$cmd${cmd:+, }'$f' using 1:2 with linespoints dashtype 2 lc 3 title 'udp relay (floor)'" ;;
        esac
        if [ -n "$cmd" ]; then echo "plot $cmd"; else echo "set multiplot next"; fi
      done
    done
    echo "unset multiplot"
  } >"$out/plot/compare.gp"
  if gnuplot "$out/plot/compare.gp" 2>"$out/plot/gnuplot.err"; then
    echo "plot: $out/compare.png"
  else
    echo "plot: gnuplot failed, see $out/plot/gnuplot.err"
  fi
fi
echo "data: $tsv"
