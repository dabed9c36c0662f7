#!/bin/sh
# Fails unless the shared library exports exactly the functions declared
# SIPSRV_API in the public headers, which are exactly those of libsipsrv.map.
set -eu
lib=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort > "$tmp/exported"
grep -ho 'sipsrv_[a-z0-9_]*;' "$src/lib/libsipsrv.map" | tr -d ';' | sort > "$tmp/map"
# Each SIPSRV_API declaration: the name right before the first '('.
for h in "$src"/include/sipsrv/*.h "$src"/include/sipsrv/*.h.in; do
  [ -f "$h" ] || continue
  grep -v '^#' "$h" | tr '\n' ' ' | grep -o 'SIPSRV_API[^;(]*(' | sed 's/.*[ *]\([a-z0-9_]*\)($/\1/'
done | sort > "$tmp/headers"
status=0
if ! diff -u "$tmp/map" "$tmp/exported"; then echo "exports differ from libsipsrv.map"; status=1; fi
if ! diff -u "$tmp/headers" "$tmp/map"; then echo "libsipsrv.map differs from the headers"; status=1; fi
n=$(wc -l < "$tmp/exported")
[ $status -eq 0 ] && echo "exports: $n symbols, all declared and listed"
exit $status
