"""The sink-seq and sink profiles: SPEC.md, profiles `sink-seq` and `sink`
(lab 4, steps 1 and 2).  stdout is compared byte for byte."""
import os
import re
import socket
import time

import pytest

from helpers import BACKENDS, SLOW, Server, connect, wait_until
from profile_util import peer_name, stop_all_read


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def out_bytes(srv):
    with srv.out.cond:
        return srv.out.buf


def wait_out(srv, want, timeout=5.0):
    """Wait until stdout holds exactly want (bytes); fail on anything else."""
    ok = wait_until(lambda: len(out_bytes(srv)) >= len(want), timeout)
    got = out_bytes(srv)
    if not ok or got != want:
        at = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y),
                  min(len(got), len(want)))
        raise AssertionError(
            f"stdout has {len(got)} bytes, wanted {len(want)}; they differ "
            f"from byte {at}: got {got[max(0, at - 80):at + 80]!r}, wanted "
            f"{want[max(0, at - 80):at + 80]!r}")


def conn_line(sock):
    return f"New connection from {peer_name(sock)}\n".encode()


# sink-seq: one connection after another, data byte-exact.

def test_sink_seq_serves_one_connection_at_a_time(backend):
    with Server(["--profile", "sink-seq", "--backend", backend]) as srv:
        a = connect(srv.port)
        want = conn_line(a)
        wait_out(srv, want)
        b = connect(srv.port)           # waits in the listen queue
        b.sendall(b"from b\n")
        a.sendall(b"first\n")
        want += b"first\n"
        wait_out(srv, want)
        time.sleep(0.2 * SLOW)          # room for a wrong accept to show
        a.sendall(b"second\n")
        want += b"second\n"
        wait_out(srv, want)             # still nothing of b
        a.close()
        want += conn_line(b) + b"from b\n"
        wait_out(srv, want)
        b.close()
        assert stop_all_read(srv) == 0
        assert out_bytes(srv) == want   # no leave line, no prefix


def test_sink_seq_binary_data_is_byte_exact(backend):
    blob = bytes(range(256)) * 64 + os.urandom(200_000) + b"\n"
    with Server(["--profile", "sink-seq", "--backend", backend]) as srv:
        a = connect(srv.port)
        want = conn_line(a)
        for i in range(0, len(blob), 7000):
            a.sendall(blob[i:i + 7000])
        want += blob
        a.close()
        wait_out(srv, want)
        b = connect(srv.port)
        b.sendall(b"\x00\r\n")
        want += conn_line(b) + b"\x00\r\n"
        wait_out(srv, want)


def test_sink_seq_next_connection_line_starts_a_fresh_line():
    with Server(["--profile", "sink-seq"]) as srv:
        a = connect(srv.port)
        a.sendall(b"no newline at the end")
        want = conn_line(a) + b"no newline at the end"
        wait_out(srv, want)
        a.close()
        b = connect(srv.port)
        want += b"\n" + conn_line(b)
        wait_out(srv, want)


def test_sink_seq_ipv6_peer_in_brackets():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no ::1")
    with Server(["--profile", "sink-seq"], listen="[::1]:0") as srv:
        a = socket.create_connection(("::1", srv.port), timeout=5 * SLOW)
        port = a.getsockname()[1]
        wait_out(srv, f"New connection from [::1]:{port}\n".encode())


def test_sink_seq_default_port_is_1234():
    srv = Server(["--profile", "sink-seq"], listen=None, wait_listen=False)
    try:
        srv.err.wait_for(r"(listening|cannot listen) on \S+:1234\b")
    finally:
        srv.stop()


# sink: many connections, one console, a lead at each change of source.

def test_sink_prefixes_each_change_of_source(backend):
    with Server(["--profile", "sink", "--backend", backend]) as srv:
        a = connect(srv.port)
        b = connect(srv.port)
        want = conn_line(a) + conn_line(b)
        wait_out(srv, want)
        A, B = peer_name(a).encode(), peer_name(b).encode()
        steps = [
            (a, b"a1\na2", A + b": a1\na2"),
            (a, b" more\n", b" more\n"),                # same source
            (b, b"b1\n", B + b": b1\n"),
            (b, b"b2", b"b2"),
            (a, b"a3\n", b"\n" + A + b": a3\n"),       # fresh line first
            (a, b"a4\n", b"a4\n"),
        ]
        for sock, data, out in steps:
            sock.sendall(data)
            want += out
            wait_out(srv, want)


def test_sink_console_line_counts_as_a_change(backend):
    with Server(["--profile", "sink", "--backend", backend]) as srv:
        a = connect(srv.port)
        want = conn_line(a)
        wait_out(srv, want)
        A = peer_name(a).encode()
        a.sendall(b"x\n")
        want += A + b": x\n"
        wait_out(srv, want)
        c = connect(srv.port)
        want += conn_line(c)
        wait_out(srv, want)
        a.sendall(b"y")
        want += A + b": y"
        wait_out(srv, want)
        d = connect(srv.port)                           # mid-line
        want += b"\n" + conn_line(d)
        wait_out(srv, want)
        a.sendall(b"z\n")
        want += A + b": z\n"
        wait_out(srv, want)
        gone = peer_name(a)
        a.close()
        want += f"Connection closed: {gone} (closed by peer)\n".encode()
        wait_out(srv, want)
        c.sendall(b"after\n")
        want += peer_name(c).encode() + b": after\n"
        wait_out(srv, want)


def test_sink_binary_data_passes_unchanged(backend):
    blob = bytes(range(256)) * 16 + os.urandom(100_000)
    with Server(["--profile", "sink", "--backend", backend]) as srv:
        a = connect(srv.port)
        b = connect(srv.port)
        want = conn_line(a) + conn_line(b)
        wait_out(srv, want)
        a.sendall(blob)
        want += peer_name(a).encode() + b": " + blob
        wait_out(srv, want)
        b.sendall(b"\x00\x01\xff\n")
        # A fresh line for the new source -- unless the random blob
        # happened to end with one (1 run in 256 did, and failed).
        want += b"" if blob.endswith(b"\n") else b"\n"
        want += peer_name(b).encode() + b": \x00\x01\xff\n"
        wait_out(srv, want)


def test_sink_sends_nothing_back(backend):
    with Server(["--profile", "sink", "--backend", backend]) as srv:
        a = connect(srv.port)
        a.sendall(b"hello\n")
        srv.out.wait_for(r": hello")
        a.shutdown(socket.SHUT_WR)
        a.settimeout(5 * SLOW)
        assert a.recv(100) == b""       # closed, and nothing came first


def test_sink_warning_on_stderr_counts_as_a_change(backend):
    """A warning goes to stderr and ends no stdout line: the next data
    still starts on a fresh stdout line, with its lead."""
    with Server(["--profile", "sink", "--max-clients", "1",
                 "--backend", backend]) as srv:
        a = connect(srv.port)
        A = peer_name(a).encode()
        a.sendall(b"mid")
        want = conn_line(a) + A + b": mid"
        wait_out(srv, want)
        b = connect(srv.port)
        srv.err.wait_for(re.escape(f"refused {peer_name(b)}: server full"))
        a.sendall(b"more\n")
        want += b"\n" + A + b": more\n"
        wait_out(srv, want)
