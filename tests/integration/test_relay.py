"""The relay profile: SPEC.md, profile `relay` (lab 4, homework 01): each
chunk a client sends goes to every client (`--route others`: all but the
sender); 1 MiB of queue per client, then drops with a rate-limited warning;
far more than FD_SETSIZE clients on epoll and poll; with select, a
descriptor that would not fit an fd_set is refused."""
import re
import resource
import select
import socket
import time

import pytest

from helpers import BACKENDS, SLOW, Server, connect, recv_until
from profile_util import (closed_by_peer, open_clients, peer_name,
                          raise_nofile, recv_all_exact, wait_count)

MANY = 10_000


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def joined(srv, socks):
    wait_count(srv.out, r"New connection from ", len(socks))
    for s in socks:
        srv.out.wait_for(re.escape(f"New connection from {peer_name(s)}\n"))


def test_relay_forwards_each_chunk_to_all(backend):
    with Server(["--profile", "relay", "--backend", backend]) as srv:
        socks = [connect(srv.port) for _ in range(3)]
        joined(srv, socks)
        chunk = b"raw \x00\xff chunk, no newline"
        socks[0].sendall(chunk)
        for s in socks:                 # the sender too
            assert recv_until(s, lambda d: len(d) >= len(chunk)) == chunk
        gone = peer_name(socks[1])
        socks[1].close()
        srv.out.wait_for(re.escape(f"Connection closed: {gone} "))
        socks[2].sendall(b"after\n")
        for s in (socks[0], socks[2]):
            assert recv_until(s, lambda d: len(d) >= 6) == b"after\n"
        assert "after" not in srv.out.text()     # who, not what


def test_relay_route_others_skips_the_sender(backend):
    with Server(["--profile", "relay", "--route", "others",
                 "--backend", backend]) as srv:
        a, b, c = (connect(srv.port) for _ in range(3))
        joined(srv, [a, b, c])
        a.sendall(b"from a\n")
        for s in (b, c):
            assert recv_until(s, lambda d: len(d) >= 7) == b"from a\n"
        b.sendall(b"from b\n")
        # a's first bytes are b's: its own chunk never came back.
        assert recv_until(a, lambda d: len(d) >= 7) == b"from b\n"


def pump(sender, readers, total, chunk=65536, window=256 * 1024,
         timeout=30.0):
    """Send total bytes from sender in chunks while draining every reader
    (the sender may be one), never more than window bytes ahead of the
    slowest, so no well-behaved reader's queue ever fills.  Returns what
    each reader received, by socket."""
    pattern = bytes(range(251)) * (chunk // 251 + 2)
    got = {r: bytearray() for r in readers}
    sent = 0
    for r in readers:
        r.setblocking(False)
    deadline = time.monotonic() + timeout * SLOW
    while min(len(v) for v in got.values()) < total:
        assert time.monotonic() < deadline, "pump timed out"
        behind = sent - min(len(v) for v in got.values())
        if sent < total and behind < window:
            n = min(chunk, total - sent)
            sender.sendall(pattern[sent % 251:sent % 251 + n])
            sent += n
        r_ready, _, _ = select.select(readers, [], [], 0.05)
        for r in r_ready:
            data = r.recv(1 << 20)
            assert data, "reader closed"
            got[r] += data
    return got


def test_relay_drops_for_a_client_that_never_reads(backend):
    total = 12 << 20
    with Server(["--profile", "relay", "--backend", backend]) as srv:
        lazy = socket.socket()
        lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lazy.connect(("127.0.0.1", srv.port))
        s, r = connect(srv.port), connect(srv.port)
        joined(srv, [lazy, s, r])
        t0 = time.monotonic()
        got = pump(s, [s, r], total)
        elapsed = time.monotonic() - t0
        want = (bytes(range(251)) * (total // 251 + 2))[:total]
        assert got[r] == want and got[s] == want    # intact, in order
        who = re.escape(peer_name(lazy))
        warn = srv.err.wait_for(who + r": output queue full \(limit 1048576 "
                                r"bytes\): dropped (\d+) bytes")
        assert int(warn.group(1)) > 0
        n = srv.err.count(who + r": output queue full")
        assert 1 <= n <= 2 + int(elapsed), n
        assert srv.err.count(r"output queue full") == n     # only lazy's
        assert srv.stop() == 0


@pytest.mark.parametrize("backend", ["epoll", "poll"])
def test_relay_holds_ten_thousand_clients(backend):
    if raise_nofile(MANY + 200) < MANY + 200:
        pytest.skip("the descriptor limit is below 10,200 here")
    with Server(["--profile", "relay", "--backend", backend]) as srv:
        socks = open_clients(srv, MANY)
        assert srv.nfds() > MANY                # all held at once
        msg = b"to all ten thousand\n"
        socks[-1].sendall(msg)
        recv_all_exact(socks, msg, timeout=30)
        assert srv.alive()
        for s in socks:
            s.close()
        wait_count(srv.out, r"Connection closed: ", MANY, timeout=30)
        assert srv.stop() == 0


def test_select_refuses_descriptors_past_fd_setsize():
    if raise_nofile(1400) < 1400:
        pytest.skip("the descriptor limit is below 1400 here")
    with Server(["--profile", "relay", "--backend", "select"]) as srv:
        def settled():
            # Every connection is either served or refused with a log line.
            return (srv.out.count(r"New connection from ") +
                    srv.err.count(r"refused .*does not fit"))

        socks = []
        while len(socks) < 1100:            # batches: a short accept queue
            for _ in range(100):
                s = connect(srv.port)
                s.setblocking(False)
                socks.append(s)
            deadline = time.monotonic() + 10 * SLOW
            while settled() < len(socks):
                assert time.monotonic() < deadline, "not accepted in time"
                time.sleep(0.02)
        served = srv.out.count(r"New connection from ")
        refused = re.findall(r"refused (\S+): descriptor (\d+) does not fit "
                             r"the select backend \(FD_SETSIZE (\d+)\)",
                             srv.err.text())
        assert refused and served < 1024
        setsize = int(refused[0][2])
        assert all(int(fd) >= setsize for _, fd, _ in refused)
        names = {peer_name(s): s for s in socks}
        gone = [names[who] for who, _, _ in refused]
        for s in gone:
            assert closed_by_peer(s)
        kept = [s for s in socks if peer_name(s) not in
                {who for who, _, _ in refused}]
        assert len(kept) == served
        # The served ones still chat.
        kept[0].sendall(b"still here\n")
        recv_all_exact(kept, b"still here\n")
        # Descriptors freed: a new client fits again.
        for s in kept[:10]:
            s.close()
        wait_count(srv.out, r"Connection closed: ", 10)
        late = connect(srv.port)
        srv.out.wait_for(re.escape(f"New connection from {peer_name(late)}"))
        assert srv.stop() == 0
