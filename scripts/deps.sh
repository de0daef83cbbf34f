#!/bin/sh
# Install what a build or the tests need and the machine lacks (Debian).
# The core server needs libc, OpenSSL's libcrypto (the WebSocket
# handshake's SHA-1 and base64) and hiredis (the cluster); the cluster
# tests need redis-server; tests need cmocka, pytest, nc, socat,
# two real IRC clients (sic, ii), chromium, python3-websockets and
# python3-prometheus-client.
set -e
need=""
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
[ -f /usr/include/openssl/evp.h ] || need="$need libssl-dev"
[ -f /usr/include/hiredis/async.h ] || need="$need libhiredis-dev"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
/usr/bin/python3 -c 'import pytest' 2>/dev/null || need="$need python3-pytest"
command -v nc >/dev/null 2>&1 || need="$need netcat-openbsd"
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v cc >/dev/null 2>&1 || need="$need build-essential"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
command -v sic >/dev/null 2>&1 || need="$need sic"      # real IRC clients
command -v ii >/dev/null 2>&1 || need="$need ii"
# The web door's tests: a real browser, and a real Prometheus parser.
command -v chromium >/dev/null 2>&1 || need="$need chromium"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
    need="$need python3-prometheus-client"
/usr/bin/python3 -c 'import websockets' 2>/dev/null ||
    need="$need python3-websockets"
[ -n "$need" ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing:$need -- install them (Debian: apt-get install$need)" >&2
    exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $need >/dev/null
