"""Deterministic races: `kill -STOP` the server, arrange events, `kill
-CONT`, so they all land in one pass of its loop.

A receiver resets while others send (no SIGPIPE death); a descriptor closed
and reused in one batch (no stale event reaches the new client); 50 of 100
receivers reset during one broadcast; a reset with a full queue.
(reliability.md section 4, C25, C26, C28, C29.)"""
import re
import time

import pytest

from torture_lib import (BACKENDS, SIZE, SLOW, Guard, Reader, TServer, dial,
                         hangup, kill_cont, kill_stop, recv_until, rst_close,
                         strip_noise, wait_until)


def greeted(srv, **kw):
    s = dial(srv, **kw)
    recv_until(s, lambda d: b"\n" in d)
    return s


def settle():
    """Let the loopback deliver what was just sent to the stopped server."""
    time.sleep(0.05 * SLOW)


@pytest.mark.parametrize("backend", BACKENDS)
def test_receiver_resets_while_others_send(backend):
    with TServer(["--backend", backend]) as srv, Guard(srv):
        for round_ in range(SIZE(5, 50)):
            a, b, c = greeted(srv), greeted(srv), greeted(srv)
            kill_stop(srv)
            rst_close(b)
            a.sendall(b"from a %d\n" % round_)
            c.sendall(b"from c %d\n" % round_)
            settle()
            kill_cont(srv)
            for s in (a, c):
                got = recv_until(s, lambda d: d.count(b"from ") >= 2)
                assert b"from a %d\n" % round_ in got
                assert b"from c %d\n" % round_ in got
            a.close()
            c.close()
        assert srv.alive()


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_descriptor_reused_in_one_batch(backend, how):
    """X sends a line and goes; Y connects (likely on X's descriptor
    number) and sends one, all while the server is stopped.  Y is served,
    and every line is credited to the right address (X and Y connect from
    different loopback addresses, which --prefix addr shows)."""
    with TServer(["--backend", backend, "--prefix", "addr"]) as srv, \
            Guard(srv):
        r = greeted(srv)
        rd = Reader(r)
        for round_ in range(SIZE(10, 100)):
            x = greeted(srv, source="127.0.0.2")
            kill_stop(srv)
            x.sendall(b"x says %d\n" % round_)
            settle()
            if how == "reset":
                rst_close(x)
            else:
                x.close()
            y = dial(srv, source="127.0.0.3")
            y.sendall(b"y says %d\n" % round_)
            settle()
            kill_cont(srv)
            got = recv_until(y, lambda d: b"y says %d\n" % round_ in d)
            assert got.startswith(b"Welcome")
            want_y = b"127.0.0.3: y says %d\n" % round_
            want_x = b"127.0.0.2: x says %d\n" % round_
            assert want_y in got
            data = rd.wait(lambda d: want_y in d, what="y's line")
            if how == "close":          # a reset may discard X's line
                assert want_x in data
            for text in (got, data):
                for m in re.finditer(rb"127\.0\.0\.(\d+): (x|y) says %d\n"
                                     % round_, text):
                    want = b"2" if m.group(2) == b"x" else b"3"
                    assert m.group(1) == want, m.group(0)
            y.close()
        hangup(r)


@pytest.mark.parametrize("backend", BACKENDS)
def test_half_the_receivers_reset_during_a_broadcast(backend):
    """100 receivers, 50 of them reset, then a 10 KiB line, in one batch:
    the other 50 get all of it, the 50 are freed."""
    with TServer(["--backend", backend]) as srv, Guard(srv) as g:
        socks = [greeted(srv) for _ in range(100)]
        sender = greeted(srv)
        kill_stop(srv)
        for s in socks[::2]:
            rst_close(s)
        sender.sendall(b"B" * 10240 + b"\n")
        settle()
        kill_cont(srv)
        for s in socks[1::2]:
            got = recv_until(s, lambda d: d.count(b"B" * 1024 + b"\n") >= 10)
            assert strip_noise(got.split(b"\n")[:-1]) == [b"B" * 1024] * 10
        g.attack_over()
        for s in socks[1::2] + [sender]:
            s.close()
        assert wait_until(lambda: srv.nfds() <= g.base_fds, timeout=10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_with_a_full_queue(backend):
    """A receiver with megabytes queued for it resets: freed at once, no
    spin, no signal, the others unaffected."""
    with TServer(["--backend", backend, "--queue-limit", "8M"]) as srv, \
            Guard(srv, rss_slack_kib=12 << 10) as g:
        victim = greeted(srv, rcvbuf=4096)
        pub = greeted(srv)
        own = Reader(pub)
        line = b"F" * 1000 + b"\n"
        for _ in range(6000):           # ~6 MB: the kernel holds 4 at most
            pub.sendall(line)
        own.wait(lambda d: len(d) >= 6000 * 1001, timeout=30)
        kill_stop(srv)
        rst_close(victim)
        pub.sendall(b"after\n")
        settle()
        kill_cont(srv)
        own.wait(lambda d: b"\nafter\n" in d[-65536:])
        g.attack_over()
        cpu = srv.cpu()
        time.sleep(0.5)
        assert srv.cpu() - cpu < 0.2, "spinning after the reset"
        hangup(pub)
