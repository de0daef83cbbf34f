"""Input abuse: what one client sends cannot hurt the server or the others.

10 MB with no newline; 1,000 lines in one write versus one byte per send;
random binary with NUL bytes, lone CRs and escape sequences into every
profile.  (reliability.md section 4, A1-A4.)"""
import os
import random
import re
import socket
import time

import pytest

from torture_lib import (BACKENDS, SIZE, Guard, Reader, TServer, dial, hangup,
                         line_model, packet, paced_send, read_packets, recv_until,
                         rst_close, sendall_bg,
                         strip_noise)


@pytest.mark.parametrize("backend", BACKENDS)
def test_10mb_without_newline(backend):
    """Cut into 1024-byte pieces as it arrives: the server holds at most
    one piece of it, every other client gets all of it, in pieces."""
    size = 10 << 20
    with TServer(["--backend", backend]) as srv, \
            Guard(srv, rss_slack_kib=3072) as g:
        reader = Reader(dial(srv))
        attacker = dial(srv)
        own = Reader(attacker)          # it reads its own pieces too
        paced_send(attacker, b"A" * size, [reader, own], ratio=1025 / 1024)
        pieces = size // 1024
        # The last piece waits for more: it might still end with a LF.
        reader.wait(lambda d: len(d) >= (pieces - 1) * 1025, timeout=60,
                    what=f"{pieces - 1} pieces")
        g.attack_over()
        attacker.shutdown(1)
        data = reader.wait(lambda d: len(d) >= pieces * 1025 and
                           d.count(b"A" * 1024 + b"\n") >= pieces,
                           timeout=10, what="the last piece, at EOF")
        lines = strip_noise(data.split(b"\n")[:-1])
        assert lines == [b"A" * 1024] * pieces
        hangup(attacker)
        hangup(reader.sock)


def lines_1000():
    rnd = random.Random(8)
    lines = []
    for i in range(1000):
        n = rnd.choice([0, 1, 5, 40, 100]) if i % 250 else 2500
        lines.append(b"%04d " % i + bytes(rnd.choice(b"abc xyz\t\r")
                                          for _ in range(n)))
    return b"".join(ln + b"\n" for ln in lines)


@pytest.mark.parametrize("backend", BACKENDS)
def test_coalesced_equals_trickled(backend):
    """The same 1,000 lines (some longer than 1024) sent in one write, one
    byte per send, and in random pieces give the same transcript."""
    data = lines_1000()
    want = line_model(data)
    transcripts = []
    with TServer(["--backend", backend]) as srv, Guard(srv, rss_slack_kib=2048):
        for mode in ("whole", "bytes", "random"):
            reader = Reader(dial(srv))
            s = dial(srv)
            Reader(s)
            if mode == "whole":
                s.sendall(data)
            elif mode == "bytes":
                for i in range(len(data)):
                    s.send(data[i:i + 1])
            else:
                rnd = random.Random(3)
                i = 0
                while i < len(data):
                    n = rnd.randint(1, 3000)
                    s.sendall(data[i:i + n])
                    i += n
            got = reader.wait(lambda d: len(strip_noise(
                bytes(d).split(b"\n")[:-1])) >= len(want),
                timeout=30, what="all lines")
            lines = strip_noise(got.split(b"\n")[:-1])
            transcripts.append(lines)
            hangup(s)
            hangup(reader.sock)
    assert transcripts[0] == want
    assert transcripts[1] == want
    assert transcripts[2] == want


def garbage(size):
    """Random bytes with the hard parts placed on purpose: NULs, lone CRs,
    CRLF and LF, escape sequences, invalid UTF-8, a long run with no LF."""
    rnd = random.Random(size)
    parts = [b"\x00\x00hello\x00world\n", b"lone\rcr\n", b"crlf\r\n",
             b"\x1b[2J\x1b]0;title\x07\x1bc\n", b"\xff\xfe\xc3\x28\xed\xa0\x80\n",
             b"B" * 3000, b"\r\r\r\n", b"\n\n"]
    out = []
    total = 0
    while total < size:
        p = rnd.choice(parts) if rnd.random() < 0.3 else \
            os.urandom(rnd.randint(1, 4096))
        out.append(p)
        total += len(p)
    return b"".join(out)


CANARY = re.compile(rb"canary \d+ \d+\.\d{6}\n")


def crlf_model(data, max_len):
    """The select-chat profile's messages: lines ending in LF (a CR before
    it dropped), cut into max_len pieces."""
    out = []
    i = 0
    while i < len(data):
        rest = len(data) - i
        scan = rest if rest <= max_len or rest - max_len <= 2 else max_len + 2
        nl = data.find(b"\n", i, i + scan)
        if nl != -1:
            plen = nl - i
            if plen > 0 and data[nl - 1:nl] == b"\r":
                plen -= 1
            if plen <= max_len:
                out.append(data[i:i + plen])
                i = nl + 1
                continue
        elif rest <= max_len or rest - max_len <= 1:
            n = min(rest, max_len)      # at EOF: what is left, in pieces
            out.append(data[i:i + n])
            i += n
            continue
        out.append(data[i:i + max_len])
        i += max_len
    return out


PROFILES = [("line", BACKENDS), ("sink", BACKENDS), ("sink-seq", ["epoll"]),
            ("echo", BACKENDS), ("relay", BACKENDS), ("packet", BACKENDS),
            ("select-chat", ["select"])]


@pytest.mark.parametrize("profile,backend",
                         [(p, b) for p, bs in PROFILES for b in bs])
def test_binary_garbage_into_every_profile(profile, backend, tmp_path):
    """1 MiB of binary garbage: nothing is lost or truncated at a NUL,
    every profile does what it promises with it, and keeps serving."""
    data = garbage(SIZE(1, 4) << 20)
    listen = [f"unix:{tmp_path}/s"] if profile == "packet" else ["127.0.0.1:0"]
    args = ["--profile", profile]
    if profile != "select-chat":
        args += ["--backend", backend]
    log_quiet = profile not in ("sink", "sink-seq")
    if profile in ("echo", "relay", "sink", "sink-seq", "select-chat"):
        args += ["--queue-limit", "64M"]    # what we check is the bytes
    with TServer(args, listen=listen, log_quiet=log_quiet) as srv, \
            Guard(srv, rss_slack_kib=None if profile in ("echo", "relay")
                  else 4096,
                  canary=profile in ("line", "packet", "relay"),
                  packet_mode=profile == "packet",
                  probe=profile in ("line", "packet", "relay")):
        other = None
        if profile in ("line", "relay", "select-chat"):
            other = Reader(dial(srv))
        s = dial(srv)
        echo = Reader(s)
        if profile == "packet":
            s.sendall(packet(0, b"garbler"))
            echo.wait(lambda d: len(d) >= 14, what="registration ack")
        sendall_bg(s, data, chunk=1 << 16).join(60)
        if profile == "sink-seq":
            s.shutdown(1)               # the next client waits for this one
        if profile == "line":
            want = line_model(data)
            got = other.wait(lambda d: len(strip_noise(
                d.split(b"\n")[:-1])) >= len(want) - 1, timeout=30)
            s.shutdown(1)
            got = other.wait(lambda d: len(strip_noise(
                d.split(b"\n")[:-1])) >= len(want), timeout=30)
            assert strip_noise(got.split(b"\n")[:-1]) == want
        elif profile == "relay":
            # The canary's lines come through as chunks of their own,
            # between two of ours: take them out, the rest is our bytes.
            for r in (other, echo):
                got = r.wait(lambda d: len(CANARY.sub(b"", d)) >= len(data),
                             timeout=30)
                assert CANARY.sub(b"", got) == data
        elif profile == "echo":
            assert echo.wait(lambda d: len(d) >= len(data), timeout=30) == data
        elif profile in ("sink", "sink-seq"):
            tail = data[-64:]
            ok = False
            for _ in range(300):
                if tail in srv.out.buf:
                    ok = True
                    break
                time.sleep(0.1)
            assert ok, "the sink did not print the last bytes"
            assert data in srv.out.buf
        elif profile == "packet":
            got = echo.wait_closed(timeout=10)
            pk = read_packets(got)
            assert pk[0] == (2, b"ok")
            assert pk[-1][0] == 3, pk[-1]       # an error, then closed
        elif profile == "select-chat":
            s.shutdown(1)
            want = b"".join(m + b"\r\n" for m in crlf_model(data, 4096))
            got = other.wait(lambda d: len(d) >= len(want), timeout=30)
            assert got == want
        hangup(s)
        if other is not None:
            hangup(other.sock)


@pytest.mark.parametrize("backend", BACKENDS)
def test_echo_firehose_then_vanish(backend):
    """`nc < /dev/zero` against the echo profile, never reading, then gone
    with a reset: what does not fit its 2 MiB buffer is dropped with a
    warning at most once a second, the memory stays bounded, and the next
    client is echoed correctly."""
    secs = SIZE(2, 5)
    with TServer(["--profile", "echo", "--backend", backend]) as srv, \
            Guard(srv, rss_slack_kib=2048 + 2048, canary=False,
                  probe=False) as g:
        s = dial(srv)
        stop = time.monotonic() + secs
        zeros = b"\0" * (1 << 16)
        s.settimeout(0.5)
        while time.monotonic() < stop:
            try:
                s.send(zeros)
            except socket.timeout:
                pass
        rst_close(s)
        g.attack_over()
        warnings = srv.err.count(r"output queue full")
        assert 1 <= warnings <= secs + 2, warnings
        t = dial(srv)
        data = os.urandom(100000)
        t.sendall(data)
        got = recv_until(t, lambda d: len(d) >= len(data), timeout=10)
        assert got == data
        t.close()
