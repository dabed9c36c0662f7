#!/bin/sh
# Installs what building and testing sipsrv needs, from Debian's packages.
# As root it runs apt-get; otherwise it says what is missing and stops.
set -eu
pkgs="gcc meson ninja-build pkg-config libsofia-sip-ua-dev libssl-dev libsqlite3-dev check valgrind sip-tester sipsak baresip-core sipvicious clang libclang-rt-dev dnsmasq-base iproute2 doxygen graphviz"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "sipsrv needs these Debian packages:$missing" >&2
  echo "install them with: sudo apt-get install$missing" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
