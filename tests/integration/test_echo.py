"""The echo profile: SPEC.md, profile `echo` (lab 4, step 3): the sink
console, plus everything a client sends written back to it through a
non-blocking 2 MiB queue; what does not fit is dropped with a warning, at
most one line per client per second."""
import os
import re
import signal
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


def echo_rtts(sock, n, min_s=0.0):
    """At least n round trips of a short line, for at least min_s seconds;
    the seconds each took."""
    out = []
    end = time.monotonic() + min_s
    i = 0
    while i < n or time.monotonic() < end:
        i += 1
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


def written(pid):
    """Bytes process pid has written so far (/proc/PID/io)."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def test_a_client_that_never_reads_slows_no_other(backend):
    """The echo round trip of a well-behaved client while another floods
    and never reads stays within a small factor of the same round trip
    with the flooder paused (a server that blocked on the flooder would
    never answer at all).  Busy and quiet rounds alternate, so a load
    spike elsewhere on the machine hits both alike."""
    with QuietServer(["--profile", "echo", "--backend", backend]) as srv:
        good = connect(srv.port)
        good.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        echo_rtts(good, 20)                             # warm up
        f = flooder(srv.port)
        busy, quiet, flooded = [], [], 0
        try:
            srv.err.wait_for(r"output queue full", timeout=10)
            for _ in range(5):
                w0 = written(f.pid)
                busy += echo_rtts(good, 40, 0.1)
                flooded += written(f.pid) - w0
                f.send_signal(signal.SIGSTOP)
                time.sleep(0.05 * SLOW)                 # let it drain
                quiet += echo_rtts(good, 40, 0.1)
                f.send_signal(signal.SIGCONT)
                time.sleep(0.02 * SLOW)
        finally:
            stop_proc(f)
        # The flood went on meanwhile: the server kept reading it.
        assert flooded > 16 << 20, flooded
        ratio = statistics.median(busy) / statistics.median(quiet)
        # Generous: the flooder and the test share this machine's cores.
        assert ratio < 20, (statistics.median(quiet), statistics.median(busy))


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
