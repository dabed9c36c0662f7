#!/bin/sh
# Runs doxygen over the public headers and the guides; fails on any warning
# (an undocumented function or parameter, a broken reference), printing them.
#   check-docs.sh DOXYGEN DOXYFILE WARNINGS-LOG
set -u
rm -f "$3"
if ! "$1" "$2" >/dev/null 2>&1; then
  echo "docs: doxygen failed"
  exit 1
fi
n=$(grep -c . "$3" 2>/dev/null || echo 0)
if [ "$n" -ne 0 ]; then
  cat "$3"
  echo "docs: $n doxygen warnings"
  exit 1
fi
echo "docs: doxygen built the API documentation with no warning"
