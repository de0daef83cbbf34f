"""The select-chat profile: SPEC.md, profile `select-chat` (the classroom
select() server).  stdout carries the trace and nothing else; it is compared
line by line, byte for byte."""
import shutil
import signal
import socket
import struct
import subprocess

import pytest

from helpers import (SANITIZE, SLOW, VALGRIND, Server, binary, connect,
                     recv_until, wait_until)
from profile_util import closed_by_peer, stop_all_read


def out_bytes(srv):
    with srv.out.cond:
        return srv.out.buf


def expect(srv, lines):
    """Wait until stdout is exactly these lines (each ends with a newline
    in the output); fail on anything else."""
    want = "".join(line + "\n" for line in lines).encode()
    ok = wait_until(lambda: len(out_bytes(srv)) >= len(want))
    got = out_bytes(srv)
    assert ok and got == want, (
        "stdout:\n" + got.decode("latin-1") + "\nwanted:\n"
        + want.decode("latin-1"))


def waiting(maxfd):
    return ["Waiting on select()...", f"MaxFd {maxfd}"]


def start():
    srv = Server(["--profile", "select-chat"])
    m = srv.out.wait_for(r"\AWaiting on select\(\)\.\.\.\nMaxFd (\d+)\n")
    return srv, int(m.group(1))


def join(srv, trace, fd):
    """Connect a client that the server will see as sd fd."""
    s = connect(srv.port)
    trace += [f"New incoming connection on sd {fd}"] + waiting(fd)
    expect(srv, trace)
    return s


def test_trace_of_a_scripted_conversation():
    srv, lfd = start()
    with srv:
        trace = waiting(lfd)
        a_fd, b_fd = lfd + 1, lfd + 2   # clients numbered on from the listener
        a = join(srv, trace, a_fd)
        b = join(srv, trace, b_fd)
        for line in (b"hello\r\n", b"second line\r\n"):
            a.sendall(line)
            assert recv_until(b, lambda d: len(d) >= len(line)) == line
            trace += [f"Descriptor {a_fd} is readable",
                      f"{len(line)} bytes received from sd {a_fd}"]
            trace += waiting(b_fd)      # b's queue waits in the write set
            trace += waiting(b_fd)      # written when select says it can be
            expect(srv, trace)
        a.close()
        trace += [f"Descriptor {a_fd} is readable",
                  f"Connection closed for sd {a_fd}",
                  f"removing connection with sd {a_fd} "]
        trace += waiting(b_fd)
        expect(srv, trace)
        b.close()
        trace += [f"Descriptor {b_fd} is readable",
                  f"Connection closed for sd {b_fd}",
                  f"removing connection with sd {b_fd} "]
        trace += waiting(lfd)           # MaxFd: the listener alone again
        expect(srv, trace)
        assert stop_all_read(srv, signal.SIGINT) == 0
        expect(srv, trace)              # nothing more on stdout
        assert "listening on" in srv.err.text()


def test_maxfd_is_the_highest_descriptor_in_the_sets():
    srv, lfd = start()
    with srv:
        trace = waiting(lfd)
        a = join(srv, trace, lfd + 1)
        b = join(srv, trace, lfd + 2)
        c = join(srv, trace, lfd + 3)
        b.close()                       # a hole below the highest
        trace += [f"Descriptor {lfd + 2} is readable",
                  f"Connection closed for sd {lfd + 2}",
                  f"removing connection with sd {lfd + 2} "]
        trace += waiting(lfd + 3)
        expect(srv, trace)
        c.close()                       # the highest goes: MaxFd drops
        trace += [f"Descriptor {lfd + 3} is readable",
                  f"Connection closed for sd {lfd + 3}",
                  f"removing connection with sd {lfd + 3} "]
        trace += waiting(lfd + 1)
        expect(srv, trace)
        d = join(srv, trace, lfd + 2)   # the lowest free number again
        a.close()
        d.close()


def test_a_failed_read_is_skipped():
    """A reset makes the read fail: the server skips it (a line on stderr)
    and goes on; the next read sees the close, which removes the client."""
    srv, lfd = start()
    with srv:
        trace = waiting(lfd)
        a = join(srv, trace, lfd + 1)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        a.close()                       # RST, not FIN
        trace += [f"Descriptor {lfd + 1} is readable"] + waiting(lfd + 1)
        trace += [f"Descriptor {lfd + 1} is readable",
                  f"Connection closed for sd {lfd + 1}",
                  f"removing connection with sd {lfd + 1} "]
        trace += waiting(lfd)
        expect(srv, trace)
        srv.err.wait_for(f"read from sd {lfd + 1}: Connection reset by peer")
        assert stop_all_read(srv, signal.SIGINT) == 0


def test_messages_go_to_everyone_but_the_sender():
    srv, lfd = start()
    with srv:
        a, b, c = (connect(srv.port) for _ in range(3))
        srv.out.wait_for(f"New incoming connection on sd {lfd + 3}\n")
        a.sendall(b"one\r\ntwo\r\n")
        for s in (b, c):
            assert recv_until(s, lambda d: len(d) >= 10) == b"one\r\ntwo\r\n"
        a.sendall(b"par")
        srv.out.wait_for(f"3 bytes received from sd {lfd + 1}\n")
        a.sendall(b"tial\r\n")
        for s in (b, c):
            assert recv_until(s, lambda d: len(d) >= 9) == b"partial\r\n"
        b.sendall(b"from b\r\n")
        # a's first bytes are b's line: nothing of its own came back.
        assert recv_until(a, lambda d: len(d) >= 8) == b"from b\r\n"
        assert recv_until(c, lambda d: len(d) >= 8) == b"from b\r\n"
        c.sendall(b"bare lf\n")         # nc sends LF alone: still a line
        assert recv_until(a, lambda d: len(d) >= 9) == b"bare lf\r\n"
        for s in (a, b, c):
            s.close()


def run(args, timeout=10):
    p = subprocess.run([binary("chatd")] + args, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout * SLOW)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@pytest.mark.parametrize("args,msg", [
    ([], "needs a port"),
    (["--backend", "poll", "4567"], "select backend only"),
    (["--backend", "epoll", "4567"], "select backend only"),
    (["1", "2"], "unexpected argument"),
])
def test_usage_errors(args, msg):
    rc, out, err = run(["--profile", "select-chat"] + args)
    assert rc == 2
    assert msg in err and "usage:" in err
    assert out == ""


def test_port_as_argument_or_listen_and_select_named():
    srv = Server(["--profile", "select-chat", "--backend", "select", "0"],
                 listen=None)
    with srv:
        assert "backend select" in srv.err.text()
        s = connect(srv.port)
        srv.out.wait_for(r"New incoming connection on sd \d+\n")
        s.close()


def test_failure_before_the_loop_exits_1():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        rc, out, err = run(["--profile", "select-chat", f"127.0.0.1:{port}"])
    finally:
        busy.close()
    assert rc == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert out == ""


def sigint_cleanup(valgrind):
    srv = Server(["--profile", "select-chat"], valgrind=valgrind)
    m = srv.out.wait_for(r"MaxFd (\d+)\n", timeout=30)
    lfd = int(m.group(1))
    a, b = connect(srv.port), connect(srv.port)
    a.sendall(b"pending partial line")  # an input buffer held at exit
    srv.out.wait_for(f"20 bytes received from sd {lfd + 1}\n", timeout=30)
    assert stop_all_read(srv, signal.SIGINT, timeout=30) == 0
    for s in (a, b):
        assert closed_by_peer(s)
    tail = srv.out.text().splitlines()[-2:]
    assert sorted(tail) == [f"removing connection with sd {lfd + 1} ",
                            f"removing connection with sd {lfd + 2} "]


def test_sigint_cleans_up_and_exits_0():
    sigint_cleanup(valgrind=None)


@pytest.mark.skipif(SANITIZE or VALGRIND or shutil.which("valgrind") is None,
                    reason="valgrind absent, or the run is already checked")
def test_sigint_cleanup_is_valgrind_clean():
    # valgrind exits 99 on any error or leak (helpers.Proc).
    sigint_cleanup(valgrind=True)
