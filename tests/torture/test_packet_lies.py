"""Packet headers that lie, and the packet stream cut every way.

A declared length of 2^62, 2^63, 2^64 - 1 or max + 1; negative and unknown
types; a length longer than what follows, then EOF; a header cut, then EOF;
messages whole, one byte per send and in random pieces.  A refused length
costs nothing: the server answers with a type-3 error and closes, without
allocating for it.  (reliability.md section 4, A8, A9.)"""
import random
import socket
import struct
import time

import pytest

from torture_lib import (BACKENDS, MEASURE_RSS, SLOW, Guard, Reader, TServer, dial,
                         hangup, packet, read_packets, recv_closed,
                         recv_until)


def hdr(ptype, length):
    return struct.pack("=iQ", ptype, length)


def registered(srv, nick):
    s = dial(srv)
    s.sendall(packet(0, nick))
    got = recv_until(s, lambda d: len(d) >= 14)
    assert read_packets(got)[0] == (2, b"ok"), got
    return s


LIES = {
    "length 2^62": hdr(1, 1 << 62) + b"x" * 100,
    "length 2^63": hdr(1, 1 << 63),
    "length 2^64-1": hdr(1, (1 << 64) - 1) + b"x",
    "length max+1": hdr(1, 64 * 1024 + 1) + b"x" * 1000,
    "negative type": hdr(-1, 5) + b"hello",
    "INT_MIN type": hdr(-(1 << 31), 0),
    "unknown type": hdr(7, 3) + b"abc",
    "register twice": packet(0, b"again"),
    "nick too long": None,          # (sent before registering, below)
}


@pytest.mark.parametrize("lie", sorted(LIES))
@pytest.mark.parametrize("backend", BACKENDS)
def test_lying_header_is_refused_for_free(backend, lie, tmp_path):
    with TServer(["--profile", "packet", "--backend", backend],
                 listen=(f"unix:{tmp_path}/s",)) as srv, \
            Guard(srv, rss_slack_kib=256, packet_mode=True):
        rss0 = srv.rss_kib()
        for i in range(20):
            if lie == "nick too long":
                s = dial(srv)
                s.sendall(packet(0, b"n" * 10240))
            else:
                s = registered(srv, b"liar%d" % i)
                s.sendall(LIES[lie])
            got = recv_closed(s, timeout=5)
            pk = read_packets(got)
            assert pk and pk[-1][0] == 3, (lie, got[-200:])
            s.close()
        if MEASURE_RSS:
            assert srv.rss_kib() - rss0 < 256, "memory grew with the lies"


@pytest.mark.parametrize("backend", BACKENDS)
def test_length_longer_than_what_follows_then_eof(backend, tmp_path):
    """A header that promises more than ever comes, then EOF; a header cut
    in the middle, then EOF: nothing is delivered, the client is freed."""
    with TServer(["--profile", "packet", "--backend", backend],
                 listen=(f"unix:{tmp_path}/s",), log_quiet=False) as srv, \
            Guard(srv, rss_slack_kib=256, packet_mode=True):
        watcher = registered(srv, b"watcher")
        rd = Reader(watcher)
        for i, tail in enumerate([hdr(1, 60000) + b"only this",
                                  hdr(1, 10)[:7], hdr(1, 5) + b"abcd"]):
            s = registered(srv, b"quitter%d" % i)
            s.sendall(tail)
            s.shutdown(socket.SHUT_WR)
            recv_closed(s, timeout=5)
            s.close()
        srv.out.wait_for(r"(?s)quitter2.*(terminated|disconnect|closed)")
        time.sleep(0.2 * SLOW)
        for ptype, payload in read_packets(bytes(rd.data)):
            assert b"quitter" not in payload or ptype != 1, payload
        hangup(watcher)


def transcript(srv, chunking, msgs):
    """Send msgs (packets) from one registered client with the given
    chunking; return the chat packets another client receives."""
    rx = registered(srv, b"rx%d" % chunking)
    rd = Reader(rx)
    tx = registered(srv, b"tx%d" % chunking)
    Reader(tx)
    data = b"".join(msgs)
    rnd = random.Random(chunking)
    i = 0
    while i < len(data):
        n = {0: len(data), 1: 1}.get(chunking) or rnd.randint(1, 40)
        tx.sendall(data[i:i + n])
        i += n
    last = b"tx%d: end" % chunking
    got = rd.wait(lambda d: last in d, timeout=30)
    out = [p for t, p in read_packets(got)
           if t == 1 and p.startswith(b"tx%d: " % chunking)]
    hangup(tx)
    hangup(rx)
    return [p.split(b": ", 1)[1] for p in out]


@pytest.mark.parametrize("backend", BACKENDS)
def test_whole_bytewise_and_random_chunks_agree(backend, tmp_path):
    """Zero-length messages, two frames in one write, a header fed one byte
    per send: the same messages come out however the stream is cut."""
    rnd = random.Random(5)
    texts = [b"", b"a", b"two\x00nul", b"\xff" * 300] + \
        [bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 2000)))
         for _ in range(60)] + [b"end"]
    msgs = [packet(1, t) for t in texts]
    with TServer(["--profile", "packet", "--backend", backend],
                 listen=(f"unix:{tmp_path}/s",)) as srv, \
            Guard(srv, packet_mode=True):
        results = [transcript(srv, c, msgs) for c in (0, 1, 2)]
    assert results[0] == texts
    assert results[1] == texts
    assert results[2] == texts
