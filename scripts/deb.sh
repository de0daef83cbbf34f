#!/bin/sh
# The Debian package: `make deb` builds it, `make deb-check` builds it and
# checks it (lintian, then dpkg -i on this machine, the files, chatd
# --version, the systemd unit; then the package is purged again unless it
# was installed before).
#
# usage: scripts/deb.sh build|check
#
# dpkg-buildpackage writes its .deb, .buildinfo and .changes into the parent
# of the tree it builds, so it builds a copy of this tree made in
# build/deb/src: everything it writes stays under build/deb.
set -e
mode=${1:-build}
top=$(pwd)
out="$top/build/deb"

need=""
command -v dpkg-buildpackage >/dev/null 2>&1 || need="$need dpkg-dev"
command -v dh >/dev/null 2>&1 || need="$need debhelper"
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
command -v cc >/dev/null 2>&1 || need="$need build-essential"
[ "$mode" = build ] || command -v lintian >/dev/null 2>&1 ||
    need="$need lintian"
if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "deb: missing:$need (Debian: apt-get install$need)" >&2
        exit 1
    fi
    echo "deb: installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $need >/dev/null
fi

# The tree as git sees it (tracked files and new ones not ignored), so a
# build/ of any kind never goes in.
rm -rf "$out"
mkdir -p "$out/src"
if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -co --exclude-standard -z |
        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar --null -T - -cf - | tar -xf - -C "$out/src"
else
    tar --exclude=./build --exclude=./build-san --exclude=./build-fuzz \
        -cf - . | tar -xf - -C "$out/src"
fi
echo "deb: dpkg-buildpackage -us -uc -b in build/deb/src"
(cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -40 "$out/build.log" >&2
    echo "deb: dpkg-buildpackage failed; the log is build/deb/build.log" >&2
    exit 1
}
rm -rf "$out/src"
deb=$(ls "$out"/chatd_*.deb)
echo "deb: built ${deb#$top/}"
ls "$out"
[ "$mode" = check ] || exit 0

# lintian: no error allowed; warnings and the rest are shown.
echo "deb: lintian"
lintian --display-info --fail-on error "$out"/chatd_*.changes |
    tee "$out/lintian.txt"
# (tee's status is the pipe's: count the errors instead.)
errors=$(grep -c '^E:' "$out/lintian.txt" || true)
echo "deb: lintian: $errors errors," \
     "$(grep -c '^W:' "$out/lintian.txt" || true) warnings," \
     "$(grep -c '^[IPXO]:' "$out/lintian.txt" || true) other notes"
if [ "$errors" != 0 ]; then
    echo "deb-check: FAILED (lintian errors)"
    exit 1
fi

# Install it here, check it, and put the machine back as it was.
was_installed=$(dpkg-query -W -f='${Status}' chatd 2>/dev/null || true)
echo "deb: dpkg -i ${deb#$top/}"
dpkg -i "$deb"
fail=0
check() {
    if eval "$2" >/dev/null 2>&1; then echo "  ok   $1"
    else echo "  FAIL $1"; fail=1; fi
}
for f in /usr/bin/chatd /usr/bin/chatsrv /usr/bin/chat /usr/bin/echod \
         /usr/bin/chatbench /usr/share/man/man1/chatd.1.gz \
         /usr/share/man/man1/chat.1.gz /usr/share/man/man1/echod.1.gz \
         /usr/share/man/man1/chatbench.1.gz /etc/chatd/chatd.conf \
         /etc/chatd/motd /lib/systemd/system/chatd.service \
         /lib/systemd/system/chatd.socket /usr/share/doc/chatd/copyright; do
    check "$f" "test -e $f"
done
check "chatd --version: $(/usr/bin/chatd --version 2>&1)" \
    '/usr/bin/chatd --version | grep -q "^chatd [0-9]"'
check "chatsrv --version" '/usr/bin/chatsrv --version | grep -q "^chatd "'
check "/etc/chatd/chatd.conf is a conffile" \
    "dpkg-query -W -f='\${Conffiles}' chatd | grep -q /etc/chatd/chatd.conf"
check "man -w chatd" 'man -w chatd'
check "chatd.service enabled" \
    'test -L /etc/systemd/system/multi-user.target.wants/chatd.service'
check "chatd.socket not enabled" \
    '! test -e /etc/systemd/system/sockets.target.wants/chatd.socket'
if command -v systemd-analyze >/dev/null 2>&1; then
    check "systemd-analyze verify chatd.service chatd.socket" \
        'systemd-analyze verify /lib/systemd/system/chatd.service \
             /lib/systemd/system/chatd.socket'
    systemd-analyze security --offline=true chatd.service 2>/dev/null |
        tail -1 | sed 's/^/  /' || true
fi
if [ -z "$was_installed" ] || [ "$was_installed" = "unknown ok not-installed" ]
then
    echo "deb: dpkg --purge chatd (it was not installed before)"
    dpkg --purge chatd >/dev/null
    check "purged: no /usr/bin/chatd, no /etc/chatd" \
        '! test -e /usr/bin/chatd && ! test -e /etc/chatd'
fi
if [ $fail != 0 ]; then
    echo "deb-check: FAILED"
    exit 1
fi
echo "deb-check: ok (${deb#$top/}; lintian: see build/deb/lintian.txt)"
