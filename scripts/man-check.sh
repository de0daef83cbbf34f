#!/bin/sh
# Lint the manual pages: mandoc -Tlint must report nothing.
#
# usage: scripts/man-check.sh [BUILD]
#
# mandoc looks up every .Xr in a manpath.  Ours are not installed, so the
# pages are copied into BUILD/man/man1, indexed there with makewhatis, and
# that manpath is searched before the system's.  A reference to a system
# page this machine lacks (no systemd, no manpages-dev) is shown but is no
# fault of the pages; anything else mandoc says fails the check.
set -e
build=${1:-build}
pages="man/chatd.1 man/chat.1 man/echod.1 man/chatbench.1"
if ! command -v mandoc >/dev/null 2>&1; then
    echo "man-check: mandoc is missing (apt-get install mandoc)" >&2
    exit 1
fi
makewhatis=$(command -v makewhatis || echo /usr/sbin/makewhatis)
mp="$build/man"
rm -rf "$mp"
mkdir -p "$mp/man1"
cp $pages "$mp/man1/"
"$makewhatis" "$mp"
# "outdated mandoc.db" is mandoc noting that a system page was found on
# disk rather than in an index: information about the machine, not the page.
out=$(mandoc -Tlint -Wstyle -M "$mp:/usr/share/man" $pages 2>&1 |
      grep -v 'outdated mandoc.db' || true)
ours='Xr \(chatd\|chat\|echod\|chatbench\) 1'
bad=$(printf '%s\n' "$out" | grep -v "referenced manual not found: Xr" || true)
bad="$bad$(printf '%s\n' "$out" | grep "referenced manual not found: $ours" || true)"
missing=$(printf '%s\n' "$out" | grep "referenced manual not found" |
          grep -v "$ours" || true)
[ -z "$missing" ] || printf 'man-check: not installed here (fine):\n%s\n' \
    "$missing" >&2
if [ -n "$bad" ]; then
    printf '%s\n' "$bad" >&2
    echo "man-check: FAILED" >&2
    exit 1
fi
echo "man-check: $pages: mandoc -Tlint clean"
