#!/bin/sh
# Builds sipsrv and starts the all-in-one example server, sipsrv-server:
# registrar, stateful proxy and UAS for the domain localhost (and its own
# address), on UDP and TCP 127.0.0.1:5060, bindings in memory, no
# authentication. Try it from another terminal (README.md, "Try it").
# SIGUSR1 prints its counters; Ctrl-C stops it. Arguments replace the
# defaults (see sipsrv-server --help), e.g. --role redirect, --mode dialog,
# --store sqlite:/tmp/sipsrv.db, --users FILE.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=${SIPSRV_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
[ "$#" -gt 0 ] || set -- --log-level info
exec "$build/examples/sipsrv-server" "$@"
