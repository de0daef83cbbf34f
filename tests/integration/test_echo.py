"""The echo profile: SPEC.md, profile `echo` (lab 4, step 3): the sink
console, plus everything a client sends written back to it through a
non-blocking 2 MiB queue; what does not fit is dropped with a warning, at
most one line per client per second."""
import os
import re
import socket
import statistics
import time

import pytest

from helpers import (BACKENDS, SANITIZE, SLOW, VALGRIND, Server, connect,
                     recv_until)
from profile_util import QuietServer, flooder, peer_name, stop_proc

FLOOD_S = 2.2       # long enough to see the rate limit at work


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def echo_rtts(sock, n):
    """n round trips of a short line; the seconds each took."""
    out = []
    for i in range(n):
        line = b"ping %d\n" % i
        t0 = time.perf_counter()
        sock.sendall(line)
        assert recv_until(sock, lambda d: len(d) >= len(line)) == line
        out.append(time.perf_counter() - t0)
    return out


def test_echo_writes_back_to_the_sender_only(backend):
    with Server(["--profile", "echo", "--backend", backend]) as srv:
        a = connect(srv.port)
        b = connect(srv.port)
        a.sendall(b"hello\n")
        assert recv_until(a, lambda d: d.endswith(b"\n")) == b"hello\n"
        b.sendall(b"bye\n")
        assert recv_until(b, lambda d: d.endswith(b"\n")) == b"bye\n"
        srv.out.wait_for(re.escape(peer_name(a)) + r": hello\n")
        srv.out.wait_for(re.escape(peer_name(b)) + r": bye\n")
        a.shutdown(socket.SHUT_WR)
        a.settimeout(5 * SLOW)
        assert a.recv(100) == b""       # b's line never reached a


def test_echo_binary_is_byte_exact(backend):
    blob = bytes(range(256)) * 64 + os.urandom(300_000)
    with Server(["--profile", "echo", "--backend", backend]) as srv:
        a = connect(srv.port)
        a.sendall(blob)
        got = recv_until(a, lambda d: len(d) >= len(blob), timeout=10)
        assert got == blob


def test_echo_drops_with_a_rate_limited_warning(backend):
    """A client that sends from /dev/urandom and never reads: its queue
    fills, the rest is dropped, and the warning comes at most once a
    second, each with the count of bytes dropped."""
    with QuietServer(["--profile", "echo", "--backend", backend]) as srv:
        f = flooder(srv.port)
        try:
            m = srv.err.wait_for(r"(\S+): output queue full \(limit 2097152 "
                                 r"bytes\): dropped (\d+) bytes", timeout=10)
            t0 = time.monotonic()
            time.sleep(FLOOD_S)
            seen = time.monotonic() - t0
        finally:
            stop_proc(f)
        who = m.group(1)
        lines = re.findall(re.escape(who) + r": output queue full .*: "
                           r"dropped (\d+) bytes", srv.err.text())
        assert all(int(n) > 0 for n in lines)
        # The first line, then at most one per second since.
        assert 2 <= len(lines) <= 2 + int(seen), lines
        assert srv.alive()
        assert srv.stop() == 0


def test_a_client_that_never_reads_slows_no_other(backend):
    """The echo round trip of a well-behaved client while another floods
    and never reads stays within a small factor of the same round trip
    with the server idle (a server that blocked on the flooder would never
    answer at all)."""
    with QuietServer(["--profile", "echo", "--backend", backend]) as srv:
        good = connect(srv.port)
        good.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        echo_rtts(good, 20)                             # warm up
        idle = statistics.median(echo_rtts(good, 200))
        f = flooder(srv.port)
        try:
            srv.err.wait_for(r"output queue full", timeout=10)
            busy = echo_rtts(good, 200)
            assert srv.err.count(r"output queue full") >= 1
        finally:
            stop_proc(f)
        med = statistics.median(busy)
        # Generous: the flooder and the test share this machine's cores.
        assert med < 50 * idle, (idle, med)


@pytest.mark.skipif(SANITIZE or VALGRIND, reason="their allocators keep "
                    "freed memory in quarantine")
def test_memory_stays_within_the_queue_limit():
    with QuietServer(["--profile", "echo"]) as srv:
        before = srv.rss_kib()
        f = flooder(srv.port)
        try:
            srv.err.wait_for(r"output queue full", timeout=10)
            time.sleep(0.5)
            grown = srv.rss_kib() - before
        finally:
            stop_proc(f)
        # One client's 2 MiB queue, the 64 KiB read buffer, slack.
        assert grown < 8 * 1024, grown
