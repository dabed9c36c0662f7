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
  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -I$SRC/include -I$BUILD/include -I$SRC/lib $SOFIA_CFLAGS -DSIPSRV_BUILDING"

# The three compile at once (each is one clang run over the sources it needs).
pids=
for t in fuzz_parse fuzz_framer; do
  echo "CC $OUT/$t"
  # shellcheck disable=SC2086
  $CC $CFLAGS -o "$OUT/$t" "$HERE/$t.c" "$SRC"/lib/core/*.c "$SRC"/lib/msg/*.c $SOFIA_LIBS &
  pids="$pids $!"
done
# The roles: everything but the sockets (lib/loop, lib/transport but its
# address parser) and SQLite (nosqlite.c stands in).
echo "CC $OUT/fuzz_roles"
# shellcheck disable=SC2086
$CC $CFLAGS -o "$OUT/fuzz_roles" "$HERE/fuzz_roles.c" "$SRC"/lib/core/*.c "$SRC"/lib/msg/*.c \
  "$SRC"/lib/txn/*.c "$SRC"/lib/roles/*.c "$SRC"/lib/store/store.c "$SRC"/lib/store/memory.c \
  "$SRC"/lib/store/nosqlite.c "$SRC"/lib/auth/*.c "$SRC"/lib/transport/addr.c \
  $SOFIA_LIBS $(pkg-config --libs libcrypto) &
pids="$pids $!"
rc=0
for p in $pids; do
  wait "$p" || rc=1
done
[ "$rc" -eq 0 ] || { echo "build.sh: a target failed to compile" >&2; exit 1; }

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
# Roles: each message as a datagram and as TCP bytes under each role (the
# first byte, fuzz_roles.c), and call flows.
mkdir -p "$SEEDS/roles" "$OUT/corpus/roles"
for f in "$SEEDS"/parse/*.dat; do
  b=$(basename "$f" .dat)
  for r in 0 1 2 3; do
    { printf "\\00$r"; printf 'a'; cat "$f"; } > "$SEEDS/roles/$b.udp$r"
  done
  { printf '\001t'; cat "$f"; } > "$SEEDS/roles/$b.tcp"
  # A relaying stateless proxy: plain requests go on from their bytes.
  { printf '\040a'; cat "$f"; } > "$SEEDS/roles/$b.relay"
done
sep='\n#!'
reg='REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2:5070;branch=z9hG4bKreg1\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=r1\r\nTo: <sip:alice@example.com>\r\nCall-ID: reg1@192.0.2.2\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@192.0.2.2:5070>;expires=600\r\nContent-Length: 0\r\n\r\n'
inv='INVITE sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1\r\nMax-Forwards: 70\r\nFrom: <sip:bob@example.org>;tag=b1\r\nTo: <sip:alice@example.com>\r\nCall-ID: call1@192.0.2.1\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@192.0.2.1:5060>\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n'
ack='ACK sip:alice@192.0.2.2:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKack1\r\nMax-Forwards: 70\r\nRoute: <sip:192.0.2.10:5060;lr>\r\nFrom: <sip:bob@example.org>;tag=b1\r\nTo: <sip:alice@example.com>;tag=x\r\nCall-ID: call1@192.0.2.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n'
bye='BYE sip:alice@192.0.2.2:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbye1\r\nMax-Forwards: 70\r\nRoute: <sip:192.0.2.10:5060;lr>\r\nFrom: <sip:bob@example.org>;tag=b1\r\nTo: <sip:alice@example.com>;tag=x\r\nCall-ID: call1@192.0.2.1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n'
cancel='CANCEL sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1\r\nMax-Forwards: 70\r\nFrom: <sip:bob@example.org>;tag=b1\r\nTo: <sip:alice@example.com>\r\nCall-ID: call1@192.0.2.1\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n'
for r in 0 1 2 3 5 6; do
  printf "\\00$r""b$reg$sep""a$inv$sep""r\\001$sep""r\\003$sep""a$ack$sep""c\\005$sep""a$bye$sep""r\\003$sep""c\\377" \
    > "$SEEDS/roles/call.$r"
  printf "\\00$r""b$reg$sep""a$inv$sep""r\\001$sep""a$cancel$sep""r\\014$sep""c\\377" > "$SEEDS/roles/cancel.$r"
  printf "\\00$r""b$reg$sep""a$inv$sep""r\\013$sep""c\\377$sep""c\\377" > "$SEEDS/roles/busy.$r"
done
# A call through a relaying stateless proxy to an address, every request
# from its bytes (no Max-Forwards in the BYE, rport in its Via).
rinv='INVITE sip:carol@192.0.2.2:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKrinv1\r\nMax-Forwards: 70\r\nFrom: <sip:bob@example.org>;tag=b1\r\nTo: <sip:carol@example.net>\r\nCall-ID: rcall1@192.0.2.1\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@192.0.2.1:5060>\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n'
rbye='BYE sip:carol@192.0.2.2:5070 SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.9:5060;rport;branch=z9hG4bKrbye1\r\nf: <sip:bob@example.org>;tag=b1\r\nt: <sip:carol@example.net>;tag=x\r\ni: rcall1@192.0.2.1\r\nCSeq: 2 BYE\r\nl: 0\r\n\r\n'
printf "\\040a$rinv$sep""r\\001$sep""a$rbye$sep""r\\003" > "$SEEDS/roles/relay-call"
printf "\\004b$reg" > "$SEEDS/roles/register-auth"
printf "\\011b$reg$sep""a$inv" > "$SEEDS/roles/send-fails"
echo "seeds: $(ls "$SEEDS/parse" | wc -l) parse, $(ls "$SEEDS/framer" | wc -l) framer, $(ls "$SEEDS/roles" | wc -l) roles in $SEEDS"
echo "run:   $OUT/fuzz_parse -dict=$HERE/sip.dict $OUT/corpus/parse $SEEDS/parse"
echo "       $OUT/fuzz_framer -dict=$HERE/sip.dict $OUT/corpus/framer $SEEDS/framer"
echo "       $OUT/fuzz_roles -dict=$HERE/sip.dict $OUT/corpus/roles $SEEDS/roles"
