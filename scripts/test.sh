#!/bin/sh
# Builds sipsrv with -Werror and runs every test suite: the Check suites,
# the export and install checks, then the Check suites again under valgrind.
# Prints each Check summary and a final "N passed, N failed" line.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=${SIPSRV_BUILD:-build}
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" -Dwerror=true -Ddocs=auto >/dev/null
else
  meson setup "$build" -Dwerror=true -Ddocs=auto >/dev/null
fi
meson compile -C "$build"
SIPSRV_SRC_BUILD=$(cd "$build" && pwd)   # for tests/fuzz/build.sh (version.h)
root=$(pwd)

status=0
passed=0
failed=0
run() {  # run NAME ARGS...: one meson test run; keeps its log and counts
  name=$1; shift
  echo "== $name"
  out="$build/meson-logs/$name.out"
  if ! meson test -C "$build" --print-errorlogs "$@" 2>&1 | tee "$out"; then :; fi
  ok=$(sed -n 's/^Ok: *\([0-9]*\) *$/\1/p' "$out" | tail -n 1)
  bad=0
  for k in Fail Unexpected\ Pass Timeout; do
    n=$(sed -n "s/^$k: *\([0-9]*\) *\$/\1/p" "$out" | tail -n 1)
    bad=$((bad + ${n:-0}))
  done
  [ -n "$ok" ] || bad=$((bad + 1))    # meson itself failed
  passed=$((passed + ${ok:-0})); failed=$((failed + bad))
  [ "$bad" -eq 0 ] || status=1
  log="$build/meson-logs/testlog$( [ "$name" = valgrind ] && echo -valgrind || true ).txt"
  echo "== $name: Check summaries"
  grep -E "^[0-9]+%: Checks:|^exports:|^install:|^sipsrv headers|^realclients: [0-9]+ message|^uas: |^registrar: |^proxy: |^redirect: |^quickstart: |^server: |^docs: |^cpu: |^nomem: |^FAIL: " "$log" || true
}
run plain
if command -v valgrind >/dev/null; then
  # Memory errors and leaks fail the run (STYLE.md: never a leak).
  run valgrind --setup valgrind --suite unit
else
  echo "valgrind run skipped: valgrind is not installed"
fi
# The same suites built with AddressSanitizer and UndefinedBehaviorSanitizer:
# undefined behaviour that valgrind cannot see fails the run too.
san="$build-sanitize"
if [ -f "$san/build.ninja" ]; then
  meson setup --reconfigure "$san" -Dwerror=true -Db_sanitize=address,undefined -Dexamples=true \
    -Dbench=false >/dev/null
else
  meson setup "$san" -Dwerror=true -Db_sanitize=address,undefined -Dbench=false >/dev/null
fi
if ! meson compile -C "$san" >"$build/meson-logs/sanitize-build.out" 2>&1; then
  echo "== sanitize: the build failed"
  tail -n 30 "$build/meson-logs/sanitize-build.out"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi
build=$san
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# The example servers built with the sanitizers too: the full sipp loads
# run against them (any leak at exit or memory error fails the run).
run sanitize --suite unit --suite clients

# A short bounded fuzz run (tests/fuzz/README.md): the three libFuzzer
# targets (message parsing, stream framing, the roles' entry points), each
# on its seed corpus then FUZZ_SECONDS (5) of new inputs; a crash, a leak
# or a broken invariant fails the run. Longer runs are by hand.
echo "== fuzz"
fz=$(mktemp -d /tmp/sipsrv-fuzz-ci-XXXXXX)
if ! command -v clang >/dev/null 2>&1 ||
   ! printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }\n' |
     clang -fsanitize=fuzzer -x c - -o "$fz/probe" >/dev/null 2>&1; then
  echo "fuzz run skipped: clang with libFuzzer (Debian clang, libclang-rt-dev) is not installed"
elif ! BUILD="$SIPSRV_SRC_BUILD" OUT="$fz" sh tests/fuzz/build.sh >"$fz/build.out" 2>&1; then
  echo "fuzz: the build failed"
  tail -n 20 "$fz/build.out"
  failed=$((failed + 1)); status=1
else
  for t in parse framer roles; do
    if (cd "$fz" && ./fuzz_$t -max_total_time="${FUZZ_SECONDS:-5}" -rss_limit_mb=2048 -max_len=8192 \
          -dict="$root/tests/fuzz/sip.dict" "corpus/$t" "seeds/$t" >"fuzz_$t.log" 2>&1); then
      echo "fuzz: fuzz_$t: $(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$fz/fuzz_$t.log"), no crash"
      passed=$((passed + 1))
    else
      echo "fuzz: fuzz_$t FAILED:"
      grep -E "ERROR|INVARIANT|SUMMARY|Test unit written" "$fz/fuzz_$t.log" | head -n 10
      failed=$((failed + 1)); status=1
    fi
  done
fi
rm -rf "$fz"
echo "$passed passed, $failed failed"
exit $status
