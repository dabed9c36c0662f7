#!/bin/sh
# Installs the build into a scratch directory, then compiles and runs an
# out-of-tree program with `pkg-config --cflags --libs sipsrv` alone, and
# builds every example program the same way (each must link, and start
# far enough to print its usage).
set -eu
build=$1
src=$2
cc=${CC:-cc}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild >/dev/null
pcdir=$(dirname "$(find "$dest" -name sipsrv.pc | head -n 1)")
[ -n "$pcdir" ] || { echo "install: no sipsrv.pc installed"; exit 1; }
# The sysroot makes the installed prefix paths point into the scratch copy.
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$pcdir"
flags=$(pkg-config --cflags --libs sipsrv)
echo "install: pkg-config --cflags --libs sipsrv -> $flags"
# Public headers never include Sofia-SIP, but for the opt-in sofia.h.
inc=$(find "$dest" -type d -path '*/include/sipsrv' | head -n 1)
leak=$(grep -l 'sofia-sip/' "$inc"/*.h | grep -v '/sofia\.h$' || true)
[ -z "$leak" ] || { echo "install: public headers include Sofia-SIP: $leak"; exit 1; }
# (Under the sysroot the Sofia-SIP include path of Requires.private does not exist.)
"$cc" -std=c11 -Wall -Wextra -Werror -o "$dest/version" "$src/tests/install/version.c" $flags
libdir=$(pkg-config --libs-only-L sipsrv | sed 's/^ *-L//; s/ *$//')
LD_LIBRARY_PATH="$libdir" "$dest/version"
# The soname is versioned.
soname=$(objdump -p "$libdir/libsipsrv.so" | awk '/SONAME/ {print $2}')
[ "$soname" = "libsipsrv.so.0" ] || { echo "install: unexpected soname $soname"; exit 1; }
[ -f "$libdir/libsipsrv.a" ] || { echo "install: no static library"; exit 1; }
echo "install: soname $soname, static library present, program ran"
n=0
for f in "$src"/examples/*.c; do
  exe="$dest/$(basename "$f" .c)"
  "$cc" -Wall -Wextra -Werror -o "$exe" "$f" $flags
  # An unknown option: the usage line on stderr, status 2 (nothing listens).
  if LD_LIBRARY_PATH="$libdir" "$exe" --no-such-option >/dev/null 2>"$dest/usage.txt"; then
    echo "install: $(basename "$exe") accepted an unknown option"; exit 1
  fi
  grep -q '^usage: ' "$dest/usage.txt" || { echo "install: $(basename "$exe") printed no usage"; exit 1; }
  n=$((n + 1))
done
echo "install: $n example programs built out of tree with pkg-config alone"
