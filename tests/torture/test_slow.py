"""Slow and absent readers: one client that does not keep up never delays
the others and never makes the server hold more than its queue limit.

A stalled reader with a 4 KiB receive buffer while 100 MB is published; a
slow-but-alive reader; burst, drain, wait, burst again; one stalled reader
among 1,000; the order of 20 senders x 200 receivers x 500 messages.
(reliability.md section 4, B11-B16.)"""
import os
import re
import time

import pytest

from torture_lib import (BACKENDS, SHIM, SIZE, Agent, Guard, Reader, TServer,
                         dial,
                         hangup, paced_send, slow_socket, wait_until)

NUM = re.compile(rb"@(\d+):(\d+):")


def numbered(sender, first, count, size):
    """count LF-terminated messages `@sender:seq:xxx` of size bytes each."""
    out = []
    for n in range(first, first + count):
        head = b"@%d:%d:" % (sender, n)
        out.append(head + b"x" * (size - len(head) - 1) + b"\n")
    return b"".join(out)


def seqs(data, sender=0):
    """The sequence numbers of sender's whole messages in data, checking
    each message is whole (no torn or interleaved bytes)."""
    out = []
    for line in bytes(data).split(b"\n")[:-1]:
        m = NUM.match(line)
        if m and int(m.group(1)) == sender:
            assert line.endswith(b"x") and b"@" not in line[1:], line[:80]
            out.append(int(m.group(2)))
    return out


@pytest.mark.parametrize("policy", ["disconnect", "drop"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_stalled_reader_while_100mb_published(backend, policy):
    """The victim never reads (4 KiB receive buffer).  disconnect: it is
    cut off with a log line saying why; drop: it stays, and what it gets is
    whole messages in order.  Either way the server holds at most about one
    queue limit for it, and every other client gets everything in order."""
    size = SIZE(20, 100) << 20
    msg = 1000
    count = size // msg
    with TServer(["--backend", backend, "--on-overflow", policy]) as srv, \
            Guard(srv, rss_slack_kib=1024 + 2048) as g:
        victim = slow_socket(srv)
        reader = Reader(dial(srv))
        pub = dial(srv)
        own = Reader(pub)
        reader.wait(lambda d: d.startswith(b"Welcome"), what="greeting")
        paced_send(pub, numbered(0, 0, count, msg), [reader, own],
                   ahead=512 << 10, timeout=120)
        got = reader.wait(lambda d: seqs_tail(d)[-1:] == [count - 1],
                          timeout=120, what="every message")
        g.attack_over()
        assert seqs(got) == list(range(count))
        if policy == "disconnect":
            srv.err.wait_for(r"output queue over its limit.*does not read")
            assert drain_closed(victim)
        else:
            assert srv.alive()
            data = drain_closed(victim, expect_close=False)
            got_v = seqs(data)
            assert got_v == sorted(set(got_v)) and 0 < len(got_v) < count
        hangup(victim)
        hangup(pub)
        hangup(reader.sock)


def seqs_tail(d):
    """Sequence numbers of the whole messages in the last 4 KiB of d (a
    cheap progress check)."""
    tail = bytes(d[-4096:])
    tail = tail[:tail.rfind(b"\n") + 1]
    return [int(m.group(2)) for m in NUM.finditer(tail)]


def drain_closed(s, expect_close=True, quiet=1.0):
    """Read s until the server closes it (returns True) or, if not
    expect_close, until no numbered message has arrived for `quiet`
    seconds (returns the bytes; the canary's lines keep coming)."""
    data = bytearray()
    s.settimeout(0.2)
    deadline = time.monotonic() + 30
    last = time.monotonic()
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(1 << 20)
        except ConnectionResetError:
            return True
        except OSError:
            chunk = None
        if chunk == b"":
            return True if expect_close else bytes(data)
        if chunk and NUM.search(chunk):
            last = time.monotonic()
        if chunk:
            data += chunk
        if not expect_close and time.monotonic() - last > quiet:
            return bytes(data)
    raise AssertionError("the stalled reader was not cut off" if expect_close
                         else "the stalled reader's data never ended")


@pytest.mark.parametrize("backend", BACKENDS)
def test_slow_but_alive_reader_is_kept(backend):
    """A reader that takes 10 KiB at a time while 50 KiB/s is published
    stays below the queue limit, so it is kept and, once it catches up,
    has every message in order."""
    msg, rate, secs = 500, 50 << 10, SIZE(3, 10)
    count = rate * secs // msg
    with TServer(["--backend", backend]) as srv, Guard(srv) as g:
        slow = dial(srv, rcvbuf=8192)
        pub = dial(srv)
        Reader(pub)
        got = bytearray()
        data = numbered(0, 0, count, msg)
        step = rate // 10
        t0 = time.monotonic()
        for i in range(0, len(data), step):
            pub.sendall(data[i:i + step])
            slow.settimeout(0.01)
            try:
                got += slow.recv(1024)      # 10 KiB/s at 10 reads/s
            except OSError:
                pass
            time.sleep(max(0, t0 + (i + step) / rate - time.monotonic()))
        g.attack_over()
        slow.settimeout(10)
        while seqs_tail(got)[-1:] != [count - 1]:
            chunk = slow.recv(1 << 16)
            assert chunk, "the slow reader was cut off"
            got += chunk
        assert seqs(got) == list(range(count))
        assert "over its limit" not in srv.err.text()
        hangup(slow)
        hangup(pub)


@pytest.mark.parametrize("backend", BACKENDS)
def test_burst_drain_wait_burst(backend):
    """Three bursts of 800 KiB (each under the 1 MiB limit, together well
    over it) to a client that reads nothing during a burst and drains
    between them: it must not be cut off for an old burst."""
    burst, msg = 800 << 10, 1000
    per = burst // msg
    with TServer(["--backend", backend]) as srv, Guard(srv) as g:
        victim = dial(srv, rcvbuf=4096)
        pub = dial(srv)
        own = Reader(pub)
        got = bytearray()
        for k in range(3):
            paced_send(pub, numbered(0, k * per, per, msg), [own],
                       ahead=128 << 10)
            time.sleep(0.3)             # the queue is full now: no reading
            victim.settimeout(10)
            while seqs_tail(got)[-1:] != [(k + 1) * per - 1]:
                chunk = victim.recv(1 << 16)
                assert chunk, f"cut off after burst {k + 1}"
                got += chunk
            time.sleep(SIZE(0.5, 3))    # drained; wait before the next
        g.attack_over()
        assert seqs(got) == list(range(3 * per))
        assert "over its limit" not in srv.err.text()
        hangup(victim)
        hangup(pub)


def wait_accepted(srv, nfds):
    """Until the server holds nfds descriptors: every receiver is accepted
    before the first message, so each must get all of them."""
    assert wait_until(lambda: srv.nfds() >= nfds, timeout=30), \
        f"{srv.nfds()} descriptors, expected {nfds}"


def fanout(srv, receivers, count, size, stalled):
    """One sender, `receivers` fast readers (another process), optionally
    one stalled reader; returns the readers' seconds."""
    victim = slow_socket(srv) if stalled else None
    base = srv.nfds()
    rx = Agent("receivers", srv.addr, receivers, "--senders", 1,
               "--count", count, "--timeout", 120)
    wait_accepted(srv, base + receivers)
    tx = Agent("senders", srv.addr, 1, "--count", count, "--size", size,
               "--window", 64 << 10, "--timeout", 120)
    tx.go()
    sent = tx.result(timeout=150)
    got = rx.result(timeout=150)
    assert not sent["errors"], sent["errors"]
    assert not got["errors"], got["errors"][:5]
    assert got["incomplete"] == 0 and got["received"] == receivers * count, \
        (sent, got)
    if victim is not None:
        hangup(victim)
    return got["seconds"]


@pytest.mark.parametrize("backend", ["epoll", "poll"])
def test_one_stalled_among_1000(backend):
    """999 fast readers and one that never reads: the fan-out to the 999
    runs at least half as fast as without the stalled one (a stall would
    make it wait for ever).  (The kernel's buffers for one loopback socket
    hold up to 4 MB, so what reaches the victim's queue here is small; the
    100 MB case above is the one that drives a victim past its limit.)"""
    n, count, size = 999, SIZE(1000, 5000), 200
    limit = SIZE("128K", "256K")
    with TServer(["--backend", backend, "--queue-limit", limit]) as srv, \
            Guard(srv, rss_slack_kib=16384):
        base = fanout(srv, n, count, size, stalled=False)
        with_stall = fanout(srv, n, count, size, stalled=True)
    print(f"fan-out to {n}: {base:.2f}s alone, {with_stall:.2f}s with a "
          f"stalled reader")
    assert with_stall <= 2 * base + 0.5, (base, with_stall)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ordering_many_senders_many_receivers(backend):
    """20 senders x 200 receivers x 500 numbered messages (scaled down by
    default): every receiver sees each sender's numbers strictly
    increasing, with no gap and no duplicate."""
    s, r, c = SIZE(10, 20), SIZE(100, 200), SIZE(200, 500)
    with TServer(["--backend", backend]) as srv, Guard(srv, rss_slack_kib=16384):
        base = srv.nfds()
        rx = Agent("receivers", srv.addr, r, "--senders", s, "--count", c,
                   "--timeout", 120)
        wait_accepted(srv, base + r)
        tx = Agent("senders", srv.addr, s, "--count", c, "--size", 40,
                   "--timeout", 120)
        tx.go()
        sent = tx.result(timeout=150)
        got = rx.result(timeout=150)
        assert not sent["errors"], sent["errors"]
        assert sent["sent"] == s * c
        assert not got["errors"], got["errors"][:5]
        assert got["incomplete"] == 0
        assert got["received"] == r * s * c


@pytest.mark.skipif(not os.path.exists(SHIM), reason="no build/faultshim.so")
@pytest.mark.parametrize("backend", BACKENDS)
def test_ordering_under_injected_faults(backend, tmp_path):
    """The ordering case again with every socket call of the server liable
    to a short count, EINTR or EAGAIN (tests/shim/faultshim.c)."""
    s, r, c = 5, 50, SIZE(200, 500)
    stats = tmp_path / "faults"
    env = {"LD_PRELOAD": SHIM, "FAULTSHIM_SEED": "3", "FAULTSHIM_RATE": "0.2",
           "FAULTSHIM_STATS": str(stats),
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")
           + ":verify_asan_link_order=0"}
    with TServer(["--backend", backend], env=env) as srv, \
            Guard(srv, rss_slack_kib=16384):
        base = srv.nfds()
        rx = Agent("receivers", srv.addr, r, "--senders", s, "--count", c)
        wait_accepted(srv, base + r)
        tx = Agent("senders", srv.addr, s, "--count", c, "--size", 300)
        tx.go()
        sent = tx.result(timeout=150)
        got = rx.result(timeout=150)
        assert not sent["errors"] and not got["errors"], (sent, got)
        assert got["incomplete"] == 0 and got["received"] == r * s * c
    counts = dict(kv.split("=") for kv in stats.read_text().split())
    assert int(counts["short"]) > 0 and int(counts["eagain"]) > 0, counts
