#!/bin/sh
# Build the libFuzzer targets of tests/fuzz and their seed corpora.
#
#   tests/fuzz/build.sh            # binaries and corpora under /tmp/sipsrv-fuzz
#   OUT=/tmp/elsewhere tests/fuzz/build.sh
#
# The library sources are compiled straight into each target with ASan, UBSan
# and libFuzzer's coverage instrumentation (Sofia-SIP itself is not
# instrumented). Nothing is written inside the source tree, except that a
# missing build directory is set up with meson, for the generated
# include/sipsrv/version.h.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$SRC/build}
OUT=${OUT:-/tmp/sipsrv-fuzz}
CC=${CC:-clang}
CONF=${CONF:-$SRC/../shared/conformance}

case "$OUT/" in
  "$SRC"/*) echo "build.sh: OUT ($OUT) must be outside the source tree" >&2; exit 1 ;;
esac

if [ ! -d "$BUILD" ]; then
  (cd "$SRC" && meson setup "$BUILD")
fi
if [ ! -f "$BUILD/include/sipsrv/version.h" ]; then
  echo "build.sh: $BUILD/include/sipsrv/version.h is missing (run meson setup)" >&2
  exit 1
fi

mkdir -p "$OUT"

SOFIA_CFLAGS=$(pkg-config --cflags sofia-sip-ua)
SOFIA_LIBS=$(pkg-config --libs sofia-sip-ua)
# -fno-sanitize-recover: an undefined behaviour report stops the run, so
# libFuzzer saves the input like any other crash.
CFLAGS="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 -std=c11
  -Wall -Wextra -I$SRC/include -I$BUILD/include -I$SRC/lib $SOFIA_CFLAGS -DSIPSRV_BUILDING"

for t in fuzz_parse fuzz_framer; do
  echo "CC $OUT/$t"
  # shellcheck disable=SC2086
  $CC $CFLAGS -o "$OUT/$t" "$HERE/$t.c" "$SRC"/lib/core/*.c "$SRC"/lib/msg/*.c $SOFIA_LIBS
done

# Seed corpora: the RFC 4475 torture messages and the RFC 5118 IPv6 ones.
SEEDS=$OUT/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS/parse" "$SEEDS/framer" "$OUT/corpus/parse" "$OUT/corpus/framer"
cp "$CONF"/rfc4475/*.dat "$CONF"/rfc5118/wire/*.dat "$SEEDS/parse/"
# The framer reads chunk sizes first (see fuzz_framer.c): 0x02 = two size
# bytes, chunks of 7 and 64 octets; 0x00 0x00 = one piece. A few seeds are
# two messages with a keep-alive between them.
prev=
for f in "$SEEDS"/parse/*.dat; do
  b=$(basename "$f" .dat)
  { printf '\002\007\100'; cat "$f"; } > "$SEEDS/framer/$b.7-64"
  { printf '\000\000'; cat "$f"; } > "$SEEDS/framer/$b.whole"
  if [ -n "$prev" ]; then
    { printf '\001\001'; printf '\r\n\r\n'; cat "$prev"; printf '\r\n\r\n'; cat "$f"; } \
      > "$SEEDS/framer/$b.pair"
  fi
  prev=$f
done
echo "seeds: $(ls "$SEEDS/parse" | wc -l) parse, $(ls "$SEEDS/framer" | wc -l) framer in $SEEDS"
echo "run:   $OUT/fuzz_parse -dict=$HERE/sip.dict $OUT/corpus/parse $SEEDS/parse"
echo "       $OUT/fuzz_framer -dict=$HERE/sip.dict $OUT/corpus/framer $SEEDS/framer"
