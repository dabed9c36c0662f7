#!/bin/sh
# Builds sipsrv and runs its first example: sipsrv-check reads SIP messages
# and prints what a server does with each (accept, answer with an error
# status, or drop). The all-in-one server takes its place once it exists.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=${SIPSRV_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
if [ "$#" -eq 0 ]; then
  set -- --reply ../shared/conformance/rfc4475/badvers.dat ../shared/conformance/rfc4475/wsinv.dat
fi
exec "$build/examples/sipsrv-check" "$@"
