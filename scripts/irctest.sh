#!/bin/sh
# scripts/irctest.sh IRCTEST -- `make irctest`: irctest's RFC 1459/2812
# selection against build/chatd, through tests/irc/chatd_irctest.py.
#
# IRCTEST is a checkout of github progval/irctest at commit 219ca65 (later
# commits need pluggy >= 1.2; Debian 12 has 1.0), kept outside this
# repository.  Its dependencies come from Debian.  Extra arguments go to
# pytest (e.g. -k whois, -x).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
IRCTEST=${1:?usage: scripts/irctest.sh /path/to/irctest [pytest args]}
shift
[ -f "$IRCTEST/conftest.py" ] || {
    echo "irctest: $IRCTEST is not an irctest checkout" >&2; exit 2; }
need=""
for m in pytest filelock ecdsa xdist pytest_timeout; do
    /usr/bin/python3 -c "import $m" 2>/dev/null || case $m in
        pytest) need="$need python3-pytest" ;;
        filelock) need="$need python3-filelock" ;;
        ecdsa) need="$need python3-ecdsa" ;;
        xdist) need="$need python3-pytest-xdist" ;;
        pytest_timeout) need="$need python3-pytest-timeout" ;;
    esac
done
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    else
        echo "irctest: install$need" >&2
        exit 1
    fi
fi
cd "$IRCTEST"
CHATD="$ROOT/build/chatd" PYTHONPATH="$ROOT/tests/irc" \
    exec /usr/bin/python3 -m pytest -p no:cacheprovider \
    --controller chatd_irctest --timeout 60 -q -rs \
    -m '(RFC1459 or RFC2812) and not strict and not deprecated and not IRCv3 and not services and not implementation-specific' \
    "$@"
