#!/bin/sh
# Install what a build or the tests need and the machine lacks (Debian).
# The core server needs libc, OpenSSL (libssl, libcrypto: the TLS doors
# and the WebSocket handshake) and hiredis (the cluster); tests need
# cmocka, pytest, nc, socat, two real IRC clients (sic, ii), chromium,
# python3-websockets, python3-prometheus-client, mandoc (to lint the
# manual pages), redis-server (the cluster tests) and systemd's
# systemd-socket-activate (the socket activation tests).
#
#   scripts/deps.sh build    what building chatd needs (make run)
#   scripts/deps.sh test     that and what the tests need (make test)
set -e
need=""
[ -f /usr/include/openssl/evp.h ] || need="$need libssl-dev"
[ -f /usr/include/hiredis/async.h ] || need="$need libhiredis-dev"
command -v cc >/dev/null 2>&1 || need="$need build-essential"
if [ "${1:-test}" = test ]; then
    [ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
    /usr/bin/python3 -c 'import pytest' 2>/dev/null || need="$need python3-pytest"
    command -v nc >/dev/null 2>&1 || need="$need netcat-openbsd"
    command -v socat >/dev/null 2>&1 || need="$need socat"
    command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
    command -v sic >/dev/null 2>&1 || need="$need sic"      # real IRC clients
    command -v ii >/dev/null 2>&1 || need="$need ii"
    # The web door's tests: a real browser, and a real Prometheus parser.
    command -v chromium >/dev/null 2>&1 || need="$need chromium"
    /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
        need="$need python3-prometheus-client"
    /usr/bin/python3 -c 'import websockets' 2>/dev/null ||
        need="$need python3-websockets"
    command -v mandoc >/dev/null 2>&1 || need="$need mandoc"
    command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
    # Socket activation's test plays systemd with systemd-socket-activate.
    command -v systemd-socket-activate >/dev/null 2>&1 || need="$need systemd"
fi
[ -n "$need" ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing:$need -- install them (Debian: apt-get install$need)" >&2
    exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $need >/dev/null
