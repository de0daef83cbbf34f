"""The IRC door's flood control and SendQ: a client that sends faster than
--flood-burst lines at once and --flood-rate a second after that is read
more slowly, nothing dropped or reordered and nobody else slowed; a client
whose output queue goes over its limit is told `ERROR :Closing Link: HOST
(SendQ exceeded)` and closed.

The machine is shared and noisy: the timing checks are loose on purpose
(behaviour, not a benchmark)."""
import re
import socket
import time

import pytest

from helpers import BACKENDS, SLOW, recv_closed
from test_irc_door import CRLF, Irc, Line, chatd

PINGS = 40


def pong_times(irc, n, timeout):
    """Read until n PONG lines arrived; return [(token, seconds)] from now
    (the caller sent its PINGs just before)."""
    t0 = time.monotonic()
    got = []
    deadline = t0 + timeout * SLOW
    while len(got) < n:
        while CRLF in irc.buf:
            line, irc.buf = irc.buf.split(CRLF, 1)
            m = re.search(rb"PONG \S+ :(\S+)$", line)
            if m:
                got.append((m.group(1).decode(), time.monotonic() - t0))
        if len(got) >= n:
            break
        left = deadline - time.monotonic()
        assert left > 0, "only %d PONGs of %d" % (len(got), n)
        irc.s.settimeout(left)
        d = irc.s.recv(65536)
        assert d, "closed after %d PONGs" % len(got)
        irc.buf += d
    return got


def drain(sock, wait=0.01):
    """Read and drop what sock has now (a client that keeps up)."""
    sock.settimeout(wait)
    try:
        while sock.recv(1 << 20):
            pass
    except (socket.timeout, BlockingIOError):
        pass
    sock.settimeout(5 * SLOW)


def flood(irc):
    irc.send(*["PING :p%02d" % i for i in range(PINGS)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_flood_is_read_slowly_nothing_lost(backend):
    with chatd(["--backend", backend]) as srv:
        irc = Irc(srv.irc_port).register("flooder")
        flood(irc)
        got = pong_times(irc, PINGS, timeout=30)
        assert [t for t, _ in got] == ["p%02d" % i for i in range(PINGS)]
        # 10 at once, then 5 a second: the last after about 6 s.  Loosely:
        # well short of all of them at once, and the last not before 4 s.
        early = sum(1 for _, s in got if s < 0.5)
        assert early < 30, "%d of %d PONGs within 0.5 s" % (early, PINGS)
        assert got[-1][1] > 4.0, got[-1]
        # Still a client in good standing: it is read again, at once.
        irc.send("PING :after")
        irc.expect(r"PONG chatd :after", timeout=5)


def test_flood_burst_0_turns_it_off():
    with chatd(["--flood-burst", "0"]) as srv:
        irc = Irc(srv.irc_port).register("flooder")
        flood(irc)
        got = pong_times(irc, PINGS, timeout=10)
        assert [t for t, _ in got] == ["p%02d" % i for i in range(PINGS)]
        assert got[-1][1] < 2.0 * SLOW, got[-1]


def test_flood_rate_0_turns_it_off():
    with chatd(["--flood-rate", "0"]) as srv:
        irc = Irc(srv.irc_port).register("flooder")
        flood(irc)
        got = pong_times(irc, PINGS, timeout=10)
        assert got[-1][1] < 2.0 * SLOW, got[-1]


def test_flood_limits_are_options():
    # A burst of 2 and 20 a second: 40 lines in about 2 s, not 6.
    with chatd(["--flood-burst", "2", "--flood-rate", "20"]) as srv:
        irc = Irc(srv.irc_port).register("flooder")
        flood(irc)
        got = pong_times(irc, PINGS, timeout=20)
        assert [t for t, _ in got] == ["p%02d" % i for i in range(PINGS)]
        assert sum(1 for _, s in got if s < 0.5) < 30
        assert got[-1][1] > 1.0


def test_line_door_has_no_flood_control():
    # The chat profile's line door (nc users pasting) is not slowed.
    with chatd() as srv:
        a = Line(srv.line_port, "paster")
        a.s.sendall(b"".join(b"line %d\n" % i for i in range(PINGS)))
        t0 = time.monotonic()
        a.expect(r"^paster: line %d$" % (PINGS - 1), timeout=5)
        assert time.monotonic() - t0 < 2.0 * SLOW


def test_flooder_slows_nobody_else():
    with chatd() as srv:
        flooder = Irc(srv.irc_port).register("flooder")
        reader = Irc(srv.irc_port).register("reader")
        talker = Irc(srv.irc_port).register("talker")
        for c in (flooder, reader, talker):
            c.send("JOIN #room")
            c.expect(r" 366 ")
        # The flooder's 60 messages take about 10 s to be read...
        flooder.send(*["PRIVMSG #room :flood %d" % i for i in range(60)])
        reader.expect(r":flooder!\S+ PRIVMSG #room :flood 9$", timeout=5)
        # ... while someone else's message goes through at once, before
        # the flooder's last.
        t0 = time.monotonic()
        talker.send("PRIVMSG #room :hello")
        line = reader.expect(r"PRIVMSG #room :(hello|flood 59)$", timeout=5)
        assert line.endswith(":hello"), line
        assert time.monotonic() - t0 < 2.0 * SLOW
        # And nothing of the flood was lost, in order.
        for i in range(10, 60):
            reader.expect(r":flooder!\S+ PRIVMSG #room :flood %d$" % i,
                          timeout=15)


def test_flooder_quits_in_order():
    # Lines after the held ones wait their turn: QUIT at the end of a
    # flood closes the client only once the lines before it are handled.
    with chatd() as srv:
        irc = Irc(srv.irc_port).register("flooder")
        irc.send(*["PING :p%02d" % i for i in range(15)] + ["QUIT :bye"])
        data = irc.buf + recv_closed(irc.s, timeout=15)
        pongs = re.findall(rb"PONG \S+ :(p\d\d)", data)
        assert pongs == [b"p%02d" % i for i in range(15)]
        assert re.search(rb"ERROR :Closing Link: \S+ \(Quit: bye\)\r\n$", data)


def test_sendq_exceeded():
    with chatd(["--queue-limit", "64K", "--on-overflow", "disconnect"]) \
            as srv:
        # The sleeper never reads, with a small receive buffer (set before
        # connect, so the window is small from the start).
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5 * SLOW)
        s.connect(("127.0.0.1", srv.irc_port))
        sleeper = Irc.__new__(Irc)
        sleeper.s, sleeper.buf = s, b""
        sleeper.register("sleeper")
        sleeper.send("JOIN #room")
        sleeper.expect(r" 366 ")
        # A line client (no flood control) says a lot in #room.
        talker = Line(srv.line_port, "talker")
        talker.s.sendall(b"/join #room\n")
        talker.expect(r"joined #room")
        text = b"x" * 400
        sent = 0
        deadline = time.monotonic() + 30 * SLOW
        while "SendQ exceeded" not in srv.out.text() + srv.err.text():
            assert time.monotonic() < deadline, "sleeper never overflowed"
            talker.s.sendall(b"".join(b"%d %s\n" % (sent + i, text)
                                      for i in range(100)))
            sent += 100
            drain(talker.s)         # its own copies: it keeps up
        # Closed: what it then reads ends with the reason, on a line of
        # its own; the lines before it are whole.
        data = recv_closed(s, timeout=10)
        assert re.search(rb"\r\nERROR :Closing Link: 127\.0\.0\.1 "
                         rb"\(SendQ exceeded\)\r\n$", data), data[-300:]
        for line in data.split(CRLF)[:-2]:
            assert line.startswith(b":"), line[:100]
        # Logged with that reason; the server goes on.
        srv.out.wait_for(r"terminated.*SendQ exceeded")
        other = Irc(srv.irc_port).register("other")
        other.send("PING :alive")
        other.expect(r"PONG chatd :alive")
