#!/bin/sh
# Install what a build or the tests need and the machine lacks (Debian).
# The core server needs only libc; tests need cmocka, pytest, nc, socat,
# two real IRC clients (sic, ii) and mandoc (to lint the manual pages).
set -e
need=""
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
/usr/bin/python3 -c 'import pytest' 2>/dev/null || need="$need python3-pytest"
command -v nc >/dev/null 2>&1 || need="$need netcat-openbsd"
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v cc >/dev/null 2>&1 || need="$need build-essential"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
command -v sic >/dev/null 2>&1 || need="$need sic"      # real IRC clients
command -v ii >/dev/null 2>&1 || need="$need ii"
command -v mandoc >/dev/null 2>&1 || need="$need mandoc"
[ -n "$need" ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing:$need -- install them (Debian: apt-get install$need)" >&2
    exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $need >/dev/null
