"""The chat profile under garbage: random bytes, random commands with
absurd arguments, NULs, invalid UTF-8, escape sequences, endless lines
and abrupt closes, from several clients at once, while a canary pair
chats in #lobby.  The server stays up, the canaries get every line in
order, no canary line carries a control character, and the server's
memory stays bounded.  Seeded, so a failure can be replayed."""
import random
import re
import socket

import pytest

from helpers import BACKENDS, Server, connect, recv_until

COMMANDS = [b"/nick", b"/join", b"/part", b"/msg", b"/me", b"/who",
            b"/rooms", b"/topic", b"/help", b"/NICK", b"/JoIn", b"/", b"//",
            b"/unknown", b"/quit"]


def junk(rng):
    """One line of mischief."""
    kind = rng.randrange(6)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(80)))
    if kind == 1:       # a command with random arguments
        args = b" ".join(bytes(rng.randrange(1, 256) for _ in range(
            rng.randrange(40))).replace(b"\n", b"") for _ in range(
            rng.randrange(4)))
        return rng.choice(COMMANDS) + b" " + args
    if kind == 2:
        return b"\x1b[2J\x1b]0;owned\x07\x00\x7f\x9b" * rng.randrange(1, 9)
    if kind == 3:
        return b"\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff" * rng.randrange(30)
    if kind == 4:       # long: cut into pieces by the server
        return ("\u65e5" * rng.randrange(500, 3000)).encode()
    return b"/join #" + bytes(rng.randrange(33, 127) for _ in range(
        rng.randrange(1, 60)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0




@pytest.mark.parametrize("backend", BACKENDS)
def test_garbage_never_hurts_the_room(backend):
    rng = random.Random(20261126)
    with Server(["--profile", "chat", "--backend", backend, "--log",
                 "quiet"]) as srv:
        a, b = connect(srv.port), connect(srv.port)
        for s, nick in ((a, b"canary_a"), (b, b"canary_b")):
            s.sendall(b"/nick " + nick + b"\n")
        recv_until(b, lambda d: b"canary_a" in d and b"canary_b" in d)
        base = rss_kib(srv.pid)
        vandals = []
        for round_ in range(30):
            if len(vandals) < 6:
                vandals.append(connect(srv.port))
            v = rng.choice(vandals)
            try:
                v.sendall(b"\n".join(junk(rng) for _ in range(20)) + b"\n")
                if rng.randrange(5) == 0:       # gone, mid-line or not
                    if rng.randrange(2):
                        v.sendall(b"half a line")
                    v.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    v.close()
                    vandals.remove(v)
            except OSError:
                vandals.remove(v)               # quit, or cut off
            a.sendall(b"canary %d\n" % round_)
        tag = b"canary_a: canary "
        seen = recv_until(b, lambda d: d.count(tag) >= 30, timeout=20)
        got = [line for line in seen.split(b"\n") if tag in line]
        assert got == [b"canary_a: canary %d" % i for i in range(30)]
        assert srv.alive()
        # A last vandal's escape sequence reaches the room as text; none
        # of what b read is a control character or invalid UTF-8.
        v = connect(srv.port)
        v.sendall(b"\x1b[2J\x1b]0;owned\x07marker\n")
        seen += recv_until(b, lambda d: b"[2J]0;ownedmarker\n" in d)
        v.close()
        assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", seen)
        seen.decode("utf-8")
        # Bounded: what is left is the canaries and the vandals' users.
        assert rss_kib(srv.pid) - base < 16 * 1024
        for v in vandals:
            v.close()
