#!/bin/sh
# sipvicious (Debian package) against sipsrv-server with --users, the way an
# attacker scans a SIP server:
#  - svmap finds the server (it answers OPTIONS);
#  - svwar, with a dictionary of users in the file and users not in it,
#    finds no user that is not in the file (an unknown user and a known one
#    get the same challenge, RFC 3261 22: nothing to tell them apart);
#  - svcrack, guessing alice's password from a list of 60 wrong ones before
#    the right one, is locked out after 5 wrong responses (sipsrv_limits:
#    503 with Retry-After, right password or not) and does not find it; the
#    server counts the failures and the lockout (the right password, tried
#    last, met the lockout).
# Only 127.0.0.1, a free port, every process bounded in time and stopped.
#
#   run.sh SIPSRV-SERVER SCRATCH-DIR
set -u
server=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$2
mkdir -p "$dir"
cd "$dir" || exit 1

for t in svmap svwar svcrack; do
  if ! command -v $t >/dev/null 2>&1; then
    echo "sipvicious suite skipped: $t (Debian package sipvicious) is not installed"
    exit 77
  fi
done

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

printf 'alice:wonderland\nbob:builder\n1001:s3cret\n' > users.txt
printf 'carol\nadmin\n1002\n2000\ntest\nguest\noperator\nalice\nbob\n1001\n' > dict.txt
{ for i in $(seq 1 60); do echo "guess$i"; done; echo wonderland; } > passwords.txt

srv=
for _ in 1 2 3 4 5 6 7 8 9 10; do
  port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
  "$server" --domain 127.0.0.1 --users users.txt --listen "udp:127.0.0.1:$port" \
    > server.log 2>&1 &
  srv=$!
  n=0
  while ! grep -q '^listening on udp' server.log && kill -0 "$srv" 2>/dev/null && [ $n -lt 50 ]; do
    sleep 0.1; n=$((n + 1))
  done
  grep -q '^listening on udp' server.log && break
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
done
if [ -z "$srv" ]; then
  echo "FAIL: sipsrv-server did not start"; cat server.log
  echo "0 passed, 1 failed"
  exit 1
fi
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null' EXIT

# svmap: the server is found.
timeout 60 svmap -p "$port" 127.0.0.1 > svmap.out 2>&1
if grep -q "127.0.0.1:$port" svmap.out; then ok "svmap finds the server"
else bad "svmap did not find the server"; cat svmap.out; fi

# svwar: no user that is not in the file (by REGISTER, INVITE, OPTIONS).
for m in REGISTER INVITE OPTIONS; do
  timeout 120 svwar -d dict.txt -m "$m" -p "$port" 127.0.0.1 > "svwar-$m.out" 2>&1
  found=$(grep -E '^\| ' "svwar-$m.out" | grep -vE 'Extension|alice|bob|1001' | wc -l)
  if [ "$found" -eq 0 ]; then ok "svwar -m $m finds no user outside the file"
  else bad "svwar -m $m found $found user(s) not in the file"; cat "svwar-$m.out"; fi
done

# svcrack: locked out before it reaches the right password.
start=$(date +%s)
# svcrack meets the lockout within seconds but waits ~30 s before it says
# so; 15 s is plenty to see that it got no further (unbuffered output).
PYTHONUNBUFFERED=1 timeout 15 svcrack -u alice -d passwords.txt -p "$port" 127.0.0.1 > svcrack.out 2>&1
took=$(( $(date +%s) - start ))
if grep -q wonderland svcrack.out; then bad "svcrack found alice's password"; cat svcrack.out
else ok "svcrack did not find alice's password (${took}s)"; fi
kill -USR1 "$srv"
sleep 0.5
line=$(grep 'auth failures' server.log | tail -n 1)
failures=$(echo "$line" | sed -n 's/.*auth failures \([0-9]*\) locked \([0-9]*\).*/\1/p')
locked=$(echo "$line" | sed -n 's/.*auth failures \([0-9]*\) locked \([0-9]*\).*/\2/p')
echo "server: ${line##*; rate-limited}"
if [ "${failures:-0}" -ge 5 ] && [ "${failures:-0}" -le 6 ] && [ "${locked:-0}" -ge 1 ]; then
  ok "the server counted $failures wrong password(s) and $locked refusal(s) in the lockout"
else bad "expected 5 wrong passwords then a lockout, counted failures=${failures:-?} locked=${locked:-?}"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
