"""The packet profile and `chat --packet`: SPEC.md, profile `packet`."""
import os
import socket
import struct
import subprocess
import time

import pytest

from helpers import (BACKENDS, Proc, Server, binary, connect_unix, recv_closed,
                     recv_until, wait_until)

HDR = struct.Struct("=iQ")          # int type, size_t length, no padding


def pkt(t, payload=b""):
    return HDR.pack(t, len(payload)) + payload


_pending = {}       # socket -> bytes received past the last packet read


def read_pkt(s, timeout=5.0):
    """The next whole packet from s (the server may batch several)."""
    data = _pending.pop(s, b"")
    if len(data) < 12:
        data += recv_until(s, lambda d: len(data) + len(d) >= 12, timeout)
    t, n = HDR.unpack(data[:12])
    if len(data) < 12 + n:
        data += recv_until(s, lambda d: len(data) + len(d) >= 12 + n, timeout)
    _pending[s] = data[12 + n:]
    return t, data[12:12 + n]


@pytest.fixture
def sock_path(tmp_path):
    return str(tmp_path / "soquette")


@pytest.fixture(params=BACKENDS)
def server(request, sock_path):
    srv = Server(["--profile", "packet", "--backend", request.param],
                 listen="unix:" + sock_path)
    yield srv
    if srv.alive():
        assert srv.stop() == 0


def join(path, nick):
    s = connect_unix(path)
    s.sendall(pkt(0, nick))
    assert read_pkt(s) == (2, b"ok")
    return s


def test_two_clients_chat(server, sock_path):
    a = join(sock_path, b"alice")
    b = join(sock_path, b"bob")
    a.sendall(pkt(1, b"hello"))
    assert read_pkt(a) == (2, b"ok")
    assert read_pkt(a) == (1, b"alice: hello")
    assert read_pkt(b) == (1, b"alice: hello")
    server.out.wait_for(r"alice: hello")
    server.out.wait_for(r"registered as bob")


def test_three_clients_one_leaves(server, sock_path):
    a, b, c = (join(sock_path, n) for n in (b"a", b"b", b"c"))
    b.close()
    server.out.wait_for(r"connection terminated.*\(b, closed by peer\)")
    c.sendall(pkt(1, b"still"))
    assert read_pkt(c) == (2, b"ok")
    assert read_pkt(a) == (1, b"c: still")
    assert read_pkt(c) == (1, b"c: still")


def test_split_one_byte_at_a_time(server, sock_path):
    a = join(sock_path, b"alice")
    for byte in pkt(1, b"slow"):
        a.send(bytes([byte]))
        time.sleep(0.001)
    assert read_pkt(a) == (2, b"ok")
    assert read_pkt(a) == (1, b"alice: slow")


@pytest.mark.parametrize("first,why", [
    (pkt(1, b"hi"), b"register"),                   # before registration
    (pkt(7, b"x"), b"unknown message type 7"),
    (pkt(-1, b"x"), b"unknown message type -1"),
    (pkt(0, b""), b"empty nickname"),
    (pkt(0, b"x" * 33), b"too long"),
    (pkt(0, b"a\nb"), b"newline"),
    (pkt(0, b"a\0b"), b"NUL"),
    (HDR.pack(1, 1 << 62), b"too long"),            # a lie: nothing sent
    (HDR.pack(1, 64 * 1024 + 1), b"too long"),
])
def test_refusals(server, sock_path, first, why):
    s = connect_unix(sock_path)
    s.sendall(first)
    t, text = read_pkt(s)
    assert t == 3 and why in text, text
    assert recv_closed(s) == b""
    ok = join(sock_path, b"next")                   # the server carries on
    ok.close()


def test_lying_length_allocates_nothing(server, sock_path):
    before = server.rss_kib()
    socks = []
    for _ in range(50):
        s = connect_unix(sock_path)
        s.sendall(HDR.pack(1, (1 << 64) - 1))
        socks.append(s)
    for s in socks:
        assert read_pkt(s)[0] == 3
    assert server.rss_kib() - before < 4096


def test_duplicate_nick(server, sock_path):
    alice = join(sock_path, b"alice")
    s = connect_unix(sock_path)
    s.sendall(pkt(0, b"alice"))
    assert read_pkt(s) == (3, b"nickname already in use")
    alice.close()


def test_unregistered_clients_get_nothing(server, sock_path):
    lurker = connect_unix(sock_path)
    a = join(sock_path, b"alice")
    a.sendall(pkt(1, b"secret"))
    assert read_pkt(a) == (2, b"ok")
    assert read_pkt(a) == (1, b"alice: secret")
    lurker.settimeout(0.3)
    with pytest.raises(socket.timeout):
        lurker.recv(100)


def test_stale_socket_file_is_replaced(sock_path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock_path)              # a file with nobody listening behind it
    s.close()
    assert os.path.exists(sock_path)
    with Server(["--profile", "packet"], listen="unix:" + sock_path):
        join(sock_path, b"x")


def test_live_server_is_an_error(server, sock_path):
    r = subprocess.run([binary("chatd"), "--profile", "packet", "--listen",
                        "unix:" + sock_path], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1
    assert "another server is listening" in r.stderr
    join(sock_path, b"still-fine")


def test_socket_file_removed_on_sigint(sock_path):
    import signal
    srv = Server(["--profile", "packet"], listen="unix:" + sock_path)
    join(sock_path, b"a")
    assert srv.stop(signal.SIGINT) == 0
    assert not os.path.exists(sock_path)


def test_chat_packet_clients(server, sock_path):
    bob = Proc([binary("chat"), "--packet", "--nick", "bob", "unix:" + sock_path],
               stdin=subprocess.PIPE)
    server.out.wait_for(r"registered as bob")
    r = subprocess.run([binary("chat"), "--packet", "--nick", "alice",
                        "unix:" + sock_path], input=b"hello bob\n",
                       capture_output=True, timeout=10)
    assert r.returncode == 0
    assert r.stdout.splitlines() == [b"ok", b"ok", b"alice: hello bob"]
    bob.out.wait_for(r"alice: hello bob")
    bob.p.stdin.close()
    bob.p.wait(5)
    r = subprocess.run([binary("chat"), "--packet", "--quiet-acks", "--nick",
                        "carol", "unix:" + sock_path], input=b"hi\n",
                       capture_output=True, timeout=10)
    assert r.stdout.splitlines() == [b"carol: hi"]


def test_chat_packet_error_exits_nonzero(server, sock_path):
    taken = join(sock_path, b"taken")
    r = subprocess.run([binary("chat"), "--packet", "--nick", "taken",
                        "unix:" + sock_path], input=b"", capture_output=True,
                       timeout=10)
    assert r.returncode == 1
    assert b"nickname already in use" in r.stderr
    taken.close()
