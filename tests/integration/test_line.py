"""The line profile (chatd default, chatsrv): SPEC.md, profile `line`."""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from helpers import (BACKENDS, SANITIZE, VALGRIND, Proc, Server, binary,
                     connect, recv_closed, recv_lines, recv_until,
                     wait_until)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def greeted(port):
    s = connect(port)
    line = recv_lines(s, 1)[0]
    assert line.startswith(b"Welcome"), line
    return s


def test_greeting_and_chat(backend):
    with Server(["--backend", backend]) as srv:
        a = greeted(srv.port)
        b = greeted(srv.port)
        a.sendall(b"hello\n")
        assert recv_lines(b, 1) == [b"hello"]
        assert recv_lines(a, 1) == [b"hello"]     # the sender too
        b.sendall(b"hi alice\n")
        assert recv_lines(a, 1) == [b"hi alice"]
        srv.out.wait_for(r"accepted connection")
        srv.out.wait_for(r"hi alice")
        a.close()
        srv.out.wait_for(r"connection terminated")


def test_chatsrv_is_line_on_3100():
    with Server([], name="chatsrv", listen=None) as srv:
        assert srv.port == 3100
        assert "0.0.0.0:3100" in srv.addrs[0]
        s = greeted(3100)
        s.sendall(b"x\n")
        assert recv_lines(s, 1) == [b"x"]


@pytest.mark.parametrize("n,pieces", [(1024, [1024]), (1025, [1024, 1]),
                                      (2048, [1024, 1024]),
                                      (2049, [1024, 1024, 1])])
def test_long_lines_are_cut(n, pieces):
    with Server([]) as srv:
        a = greeted(srv.port)
        a.sendall(b"a" * n + b"\n")
        got = recv_lines(a, len(pieces))
        assert [len(x) for x in got] == pieces
        a.sendall(b"end\n")
        assert recv_lines(a, 1) == [b"end"]     # no stray empty piece


def test_line_split_across_many_writes(backend):
    with Server(["--backend", backend]) as srv:
        a = greeted(srv.port)
        a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for ch in b"split line\n":
            a.send(bytes([ch]))
            time.sleep(0.002)
        assert recv_lines(a, 1) == [b"split line"]


def test_many_lines_in_one_write_stay_separate():
    with Server(["--log", "quiet"]) as srv:
        a = greeted(srv.port)
        b = greeted(srv.port)
        lines = [b"line %d" % i for i in range(1000)]
        a.sendall(b"\n".join(lines) + b"\n")
        assert recv_lines(b, 1000) == lines


def test_partial_line_at_close_is_delivered(backend):
    with Server(["--backend", backend]) as srv:
        a = greeted(srv.port)
        b = greeted(srv.port)
        a.sendall(b"no newline")
        a.close()
        assert recv_lines(b, 1) == [b"no newline"]


def test_binary_and_nul_bytes_pass(backend):
    with Server(["--backend", backend]) as srv:
        a = greeted(srv.port)
        b = greeted(srv.port)
        payload = b"\x00\x01\xff\x1b[31m\r\x00z"
        a.sendall(payload + b"\n")
        assert recv_lines(b, 1) == [payload]
        srv.out.wait_for(r"\\000\\001\\377\\033")   # escaped on the console


def test_same_order_everywhere_and_no_history(backend):
    with Server(["--backend", backend, "--log", "quiet"]) as srv:
        senders = [greeted(srv.port) for _ in range(3)]
        for i in range(50):
            for k, s in enumerate(senders):
                s.sendall(b"s%d m%d\n" % (k, i))
        seqs = [recv_lines(s, 150) for s in senders]
        assert seqs[0] == seqs[1] == seqs[2]
        for k in range(3):
            mine = [x for x in seqs[0] if x.startswith(b"s%d " % k)]
            assert mine == [b"s%d m%d" % (k, i) for i in range(50)]
        late = greeted(srv.port)
        senders[0].sendall(b"after\n")
        assert recv_lines(late, 1) == [b"after"]   # nothing from before


def test_prefix_addr():
    """The sender's IP address only, as the chatsrv seed says: no port."""
    with Server(["--prefix", "addr"]) as srv:
        a = greeted(srv.port)
        a.sendall(b"hello\n")
        assert recv_lines(a, 1) == [b"127.0.0.1: hello"]


def test_prefix_addr_ipv6():
    with Server(["--prefix", "addr"], listen="[::1]:0") as srv:
        a = socket.create_connection(("::1", srv.port))
        recv_lines(a, 1)                            # the greeting
        a.sendall(b"hello\n")
        assert recv_lines(a, 1) == [b"::1: hello"]


def test_slow_client_is_disconnected_others_unaffected(backend):
    with Server(["--backend", backend, "--log", "quiet"]) as srv:
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", srv.port))
        fast = greeted(srv.port)
        sender = greeted(srv.port)
        line = b"x" * 1000 + b"\n"
        total, batch = 12000, 100   # 12 MB: past the kernel's buffers too
        count = {fast: 0, sender: 0}
        for sent in range(batch, total + 1, batch):
            sender.sendall(line * batch)
            # Readers that keep up: never more than 300 KB behind.
            for s in count:
                while count[s] < sent - 300:
                    count[s] += s.recv(1 << 20).count(b"\n")
        for s in count:
            count[s] += recv_until(
                s, lambda d: count[s] + d.count(b"\n") >= total).count(b"\n")
        assert list(count.values()) == [total, total]
        srv.err.wait_for(r"output queue over its limit")
        assert recv_closed(slow, timeout=10).count(b"\n") < total
        assert srv.alive()
        # A memory bound means something on a plain build only: ASan's
        # quarantine keeps what was freed, valgrind's heap is its own (as
        # the torture suite says).
        if not SANITIZE and not VALGRIND:
            assert srv.rss_kib() < 64 * 1024


def test_half_close_gets_queued_data(backend):
    with Server(["--backend", backend]) as srv:
        a = greeted(srv.port)
        b = greeted(srv.port)
        b.sendall(b"one\ntwo\nthree\n")
        b.shutdown(socket.SHUT_WR)
        data = recv_closed(b)
        assert data == b"one\ntwo\nthree\n"
        assert recv_lines(a, 3) == [b"one", b"two", b"three"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly(tmp_path, sig):
    path = str(tmp_path / "s.sock")
    srv = Server(["--listen", "unix:" + path])
    a = greeted(srv.port)
    assert os.path.exists(path)
    assert srv.stop(sig) == 0
    assert not os.path.exists(path)
    assert recv_closed(a) == b""


def test_tcp_v6_and_unix_at_once(tmp_path):
    path = str(tmp_path / "c.sock")
    with Server(["--listen", "[::1]:0", "--listen", "unix:" + path]) as srv:
        srv.err.wait_for(r"listening on \[::1\]:\d+")
        srv.err.wait_for(r"listening on unix:")
        v6port = int(srv.err.wait_for(r"listening on \[::1\]:(\d+)").group(1))
        a = greeted(srv.port)
        b = socket.create_connection(("::1", v6port))
        assert recv_lines(b, 1)[0].startswith(b"Welcome")
        u = socket.socket(socket.AF_UNIX)
        u.connect(path)
        assert recv_lines(u, 1)[0].startswith(b"Welcome")
        u.sendall(b"from unix\n")
        assert recv_lines(a, 1) == [b"from unix"]
        assert recv_lines(b, 1) == [b"from unix"]


def test_idle_timeout():
    with Server(["--idle-timeout", "1"]) as srv:
        quiet = greeted(srv.port)
        t0 = time.monotonic()
        assert recv_closed(quiet, timeout=5) == b""
        assert time.monotonic() - t0 >= 0.9
        srv.out.wait_for(r"idle timeout")


def test_max_clients():
    with Server(["--max-clients", "2"]) as srv:
        a = greeted(srv.port)
        b = greeted(srv.port)
        c = connect(srv.port)
        assert recv_closed(c) == b""
        srv.err.wait_for(r"server full")
        a.sendall(b"still here\n")
        assert recv_lines(b, 1) == [b"still here"]


def test_greeting_option():
    with Server(["--greeting", "Hi there"]) as srv:
        s = connect(srv.port)
        assert recv_lines(s, 1) == [b"Hi there"]


def run(args):
    return subprocess.run([binary("chatd")] + args, capture_output=True,
                          text=True, timeout=10)


@pytest.mark.parametrize("args,msg", [
    (["--bogus"], "unknown option"),
    (["--backend", "nope"], "bad --backend"),
    (["--framing", "x"], "bad --framing"),
    (["--route", "x"], "bad --route"),
    (["--prefix", "x"], "bad --prefix"),
    (["--queue-limit", "lots"], "bad --queue-limit"),
    (["--on-overflow", "x"], "bad --on-overflow"),
    (["--max-message", "0"], "bad --max-message"),
    (["--idle-timeout", "-1"], "bad --idle-timeout"),
    (["--max-clients", "x"], "bad --max-clients"),
    (["--log", "x"], "bad --log"),
    (["--profile", "x"], "unknown profile"),
    (["--listen", "1.2.3.4:99999"], "bad port"),
    (["1", "2"], "unexpected argument"),
])
def test_usage_errors(args, msg):
    r = run(args)
    assert r.returncode == 2
    assert msg in r.stderr
    assert "usage: chatd" in r.stderr


def test_help_and_version():
    r = run(["--help"])
    assert r.returncode == 0 and "--queue-limit" in r.stdout
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("chatd ")


def test_listen_failure_exits_1():
    with Server([]) as srv:
        r = run(["--listen", "127.0.0.1:%d" % srv.port])
        assert r.returncode == 1
        assert "cannot listen on 127.0.0.1:%d: Address already in use" % srv.port in r.stderr


def test_sigpipe_never_kills(backend):
    with Server(["--backend", backend, "--log", "quiet"]) as srv:
        a = greeted(srv.port)
        victims = [greeted(srv.port) for _ in range(20)]
        os.kill(srv.pid, signal.SIGSTOP)
        for v in victims:
            v.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
            v.close()
        a.sendall(b"x" * 500 + b"\n")
        os.kill(srv.pid, signal.SIGCONT)
        assert recv_lines(a, 1) == [b"x" * 500]
        assert srv.alive()


@pytest.mark.parametrize("backend", BACKENDS)
def test_reader_that_keeps_up_loses_nothing_to_the_queue_limit(backend):
    """A client floods 6.5 MB of 1000-byte lines in 64-line writes while
    another thread reads its echo, with a 64 KiB queue and the drop policy:
    a pass may queue more than 64 KiB for it, but its socket can take the
    data, so the server writes before it drops and nothing is lost."""
    with Server(["--backend", backend, "--queue-limit", "64K",
                 "--on-overflow", "drop", "--log", "quiet"]) as srv:
        s = greeted(srv.port)
        line = b"y" * 999 + b"\n"
        batches, per = 102, 64
        want = len(line) * per * batches
        got = [0]

        def reader():
            while got[0] < want:
                d = s.recv(1 << 20)
                if not d:
                    return
                got[0] += len(d)

        t = threading.Thread(target=reader)
        t.start()
        for _ in range(batches):
            s.sendall(line * per)
        t.join(timeout=60)
        assert not t.is_alive()
        assert got[0] == want, "lost %d bytes" % (want - got[0])
        assert b"dropped" not in srv.err.text().encode()
