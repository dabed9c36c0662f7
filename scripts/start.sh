#!/bin/sh
# Builds sipsrv and starts the example server: sipsrv-uas answers calls on
# UDP and TCP 127.0.0.1:5060 (it rings, then answers 200 with SDP). Try it
# from another terminal with: sipp -sn uac 127.0.0.1:5060 -m 10
# Ctrl-C stops it. Arguments replace the defaults (see sipsrv-uas --help).
# The all-in-one sipsrv-server takes its place once it exists.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=${SIPSRV_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
[ "$#" -gt 0 ] || set -- --listen udp:127.0.0.1:5060 --listen tcp:127.0.0.1:5060 --ring-ms 1000 --log-level info
exec "$build/examples/sipsrv-uas" "$@"
