"""echod: the concurrent echo server, each model (issue 6, SPEC "echod").

Every test starts the real binary on 127.0.0.1:0, reads the port from its
`listening on ADDR` line, and checks behaviour from outside: bytes on the
wire, the process table in /proc, the console, the exit status."""
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from helpers import (SANITIZE, SLOW, VALGRIND, Proc, Server, binary, connect,
                     recv_closed, recv_until, wait_until)

MODELS = ["fork", "thread", "prefork", "event"]
TCP_CLOSE_WAIT = "08"


STARTED = []
# ASan/UBSan reports, and valgrind's errors and real leaks.  Not valgrind's
# "possibly lost": a detached thread still on its way out when the process
# exits leaves its TLS block so, which the harness does not count either.
SANITIZER_REPORT = re.compile(
    r"Sanitizer|runtime error:|are (definitely|indirectly) lost|"
    r"Invalid (read|write|free)|uninitialised|Syscall param|Mismatched free")


def echod(model, *args, **kw):
    srv = Server(["--model", model] + list(args), name="echod", **kw)
    STARTED.append(srv)
    return srv


@pytest.fixture(autouse=True)
def no_sanitizer_report():
    """A report from any process of the server (forked children included,
    whose exit status nobody sees) fails the test."""
    STARTED.clear()
    yield
    for srv in STARTED:
        srv.kill()
        srv.err.t.join(5)
        m = SANITIZER_REPORT.search(srv.err.text())
        assert m is None, srv.err.text()[-3000:]


def proc_table():
    """{pid: (ppid, state)} for every process we can see."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()     # comm may hold spaces
        table[int(d)] = (int(rest[1]), rest[0])
    return table


def children(pid):
    """[(pid, state)] of the children of pid."""
    return [(p, st) for p, (pp, st) in proc_table().items() if pp == pid]


def zombies(pid):
    return [p for p, st in children(pid) if st == "Z"]


def live_children(pid):
    return sorted(p for p, st in children(pid) if st != "Z")


def exists(pid):
    return pid in proc_table()


def echo_roundtrip(port, payload, timeout=10.0):
    """Send payload from a thread while reading; return what came back."""
    s = connect(port)
    t = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
    t.start()
    got = recv_until(s, lambda d: len(d) >= len(payload), timeout=timeout)
    t.join(timeout * SLOW)
    s.close()
    return got


def serving(srv, sock):
    """The pid that serves sock, from its `New connection` line (the server
    itself for a thread)."""
    port = sock.getsockname()[1]
    m = srv.out.wait_for(rf"New connection from 127\.0\.0\.1:{port} "
                         r"\((pid|thread) (\d+)\)")
    return srv.pid if m.group(1) == "thread" else int(m.group(2))


def tcp_state(local_port, remote_port):
    """State (hex, as in /proc/net/tcp) of the loopback connection
    local_port -> remote_port, or None."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            lp = int(fields[1].split(":")[1], 16)
            rp = int(fields[2].split(":")[1], 16)
            if lp == local_port and rp == remote_port:
                return fields[3]
    return None


def stop_process(pid):
    """SIGSTOP pid and wait until every one of its threads has stopped:
    kill() returns before a group stop reaches all threads."""
    def all_stopped():
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            if st[st.rindex(")") + 2] not in "Tt":
                return False
        return True
    os.kill(pid, signal.SIGSTOP)
    assert wait_until(all_stopped, timeout=3, step=0.001)


def reset(sock):
    """Close with SO_LINGER {on, 0}: the peer gets an RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("model", MODELS)
def test_echoes_every_byte(model):
    with echod(model) as srv:
        s = connect(srv.port)
        s.sendall(b"hello\n")
        assert recv_until(s, lambda d: len(d) >= 6) == b"hello\n"
        s.close()
        data = os.urandom(1 << 20)
        got = echo_roundtrip(srv.port, data)
        assert len(got) == len(data)
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        srv.out.wait_for(r"New connection from 127\.0\.0\.1:\d+ "
                         r"\((pid|thread) \d+\)")
        srv.out.wait_for(r"Connection from 127\.0\.0\.1:\d+ closed "
                         r"\((pid|thread) \d+\): 1048576 bytes echoed")
        assert srv.stop() == 0


@pytest.mark.parametrize("model", MODELS)
def test_half_close_gets_the_whole_echo(model):
    """A client that shuts down its sending side still gets every byte
    back, then the server closes."""
    with echod(model) as srv:
        s = connect(srv.port)
        data = b"".join(b"line %d\n" % i for i in range(3000))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        assert recv_closed(s) == data
        s.close()


@pytest.mark.parametrize("model", MODELS)
def test_two_clients_at_once(model):
    with echod(model) as srv:
        a = connect(srv.port)
        a.sendall(b"first\n")
        assert recv_until(a, lambda d: d.endswith(b"\n")) == b"first\n"
        # a stays open and idle: b must be served meanwhile.
        b = connect(srv.port)
        b.sendall(b"second\n")
        assert recv_until(b, lambda d: d.endswith(b"\n")) == b"second\n"
        a.sendall(b"again\n")
        assert recv_until(a, lambda d: d.endswith(b"\n")) == b"again\n"
        a.close()
        b.close()


@pytest.mark.parametrize("model", MODELS)
def test_fifty_connections_leave_no_zombie(model):
    with echod(model) as srv:
        socks = []
        for i in range(50):
            s = connect(srv.port)
            s.sendall(b"%d\n" % i)
            socks.append(s)
        for i, s in enumerate(socks):
            assert recv_until(s, lambda d: d.endswith(b"\n")) == b"%d\n" % i
            s.close()
        assert wait_until(lambda: srv.out.count(r"Connection from .* closed")
                          >= 50, timeout=3)
        assert wait_until(lambda: not zombies(srv.pid), timeout=3), \
            f"zombies left: {zombies(srv.pid)}"
        if model == "fork":     # and every child is gone, not just reaped
            assert wait_until(lambda: not children(srv.pid), timeout=3)
        assert srv.alive()


def sockets_of(pid):
    """The socket inodes pid holds open."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:"):
            out.add(link)
    return out


def test_fork_closes_the_copies_it_does_not_need():
    """The parent keeps only the listener, each child only its client."""
    with echod("fork") as srv:
        listener = sockets_of(srv.pid)
        assert len(listener) == 1
        a, b = connect(srv.port), connect(srv.port)
        for s in (a, b):
            s.sendall(b"x")
            assert recv_until(s, lambda d: d == b"x") == b"x"
        kids = [serving(srv, a), serving(srv, b)]
        assert sockets_of(srv.pid) == listener
        for k in kids:
            mine = sockets_of(k)
            assert len(mine) == 1 and not mine & listener
        a.close()
        b.close()


def test_prefork_starts_its_workers_before_any_client():
    with echod("prefork", "--workers", "3") as srv:
        assert wait_until(lambda: len(live_children(srv.pid)) == 3,
                          timeout=3), children(srv.pid)
        time.sleep(0.2)         # and not more
        assert len(live_children(srv.pid)) == 3
        assert srv.out.count(r"New connection") == 0


def test_prefork_default_is_two_workers_per_core():
    want = 2 * os.sysconf("SC_NPROCESSORS_ONLN")
    with echod("prefork") as srv:
        assert wait_until(lambda: len(live_children(srv.pid)) == want,
                          timeout=3), children(srv.pid)


def test_prefork_replaces_a_dead_worker():
    with echod("prefork", "--workers", "2") as srv:
        assert wait_until(lambda: len(live_children(srv.pid)) == 2, timeout=3)
        before = live_children(srv.pid)
        os.kill(before[0], signal.SIGKILL)
        assert wait_until(lambda: len(live_children(srv.pid)) == 2 and
                          live_children(srv.pid) != before, timeout=5)
        after = live_children(srv.pid)
        assert before[0] not in after and before[1] in after
        srv.err.wait_for(r"worker \d+ killed by signal 9")
        for _ in range(4):      # whichever worker accepts, it echoes
            assert echo_roundtrip(srv.port, b"still here\n") == b"still here\n"
        assert srv.stop() == 0


@pytest.mark.parametrize("model", MODELS)
def test_reset_mid_echo_leaves_the_server_serving(model):
    """A client sends 1 MB without reading, then resets (SO_LINGER 0)."""
    with echod(model) as srv:
        workers = None
        if model == "prefork":
            assert wait_until(lambda: len(live_children(srv.pid)) >= 2)
            workers = live_children(srv.pid)
        s = connect(srv.port)
        s.settimeout(0.5)
        try:
            s.sendall(os.urandom(1 << 20))  # may stall: echo is unread
        except socket.timeout:
            pass
        time.sleep(0.1)
        reset(s)
        srv.out.wait_for(r"Connection from 127\.0\.0\.1:\d+ (broken|closed)")
        data = os.urandom(200000)
        assert echo_roundtrip(srv.port, data) == data
        assert srv.alive()
        if workers is not None:     # no worker died and was replaced
            assert live_children(srv.pid) == workers
        assert srv.stop() == 0
    srv.err.t.join(5)           # all of stderr, before looking for absence
    assert "killed by signal" not in srv.err.text()
    assert "replacing it" not in srv.err.text()


@pytest.mark.parametrize("model", MODELS)
def test_sigpipe_is_caught_and_counted(model):
    """Make the server write to a connection the peer has reset after its
    FIN: the kernel raises SIGPIPE, which must be counted, not fatal.  The
    serving process is stopped meanwhile so the order is deterministic."""
    with echod(model) as srv:
        s = connect(srv.port)
        s.sendall(b"x")
        assert recv_until(s, lambda d: d == b"x") == b"x"
        pid = serving(srv, s)
        cport = s.getsockname()[1]
        try:
            stop_process(pid)
            s.sendall(b"y" * 30000)
            s.shutdown(socket.SHUT_WR)
            assert wait_until(lambda: tcp_state(srv.port, cport)
                              == TCP_CLOSE_WAIT, timeout=3)
            reset(s)                # RST after FIN: the next write is EPIPE
            assert wait_until(lambda: tcp_state(srv.port, cport) is None,
                              timeout=3)
        finally:
            os.kill(pid, signal.SIGCONT)
        srv.out.wait_for(rf"Connection from 127\.0\.0\.1:{cport} broken "
                         r"\((pid|thread) \d+\): Broken pipe, SIGPIPE caught "
                         r"\(1 so far\)")
        assert echo_roundtrip(srv.port, b"next\n") == b"next\n"
        if model != "fork":
            assert exists(pid)      # the worker survived its SIGPIPE
        assert srv.stop() == 0
    # each process reports its own count on exit
    srv.out.wait_for(rf"pid {pid} exiting: \d+ connections, 1 broken, "
                     r"1 SIGPIPE")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_every_model_cleanly(model, sig):
    with echod(model) as srv:
        idle = connect(srv.port)
        idle.sendall(b"hi\n")
        assert recv_until(idle, lambda d: d == b"hi\n") == b"hi\n"
        # a connection in the middle of an echo it does not read
        busy = connect(srv.port)
        busy.settimeout(0.5)
        try:
            busy.sendall(os.urandom(4 << 20))
        except socket.timeout:
            pass
        wait_until(lambda: srv.out.count("New connection") >= 2)
        kids = live_children(srv.pid)
        t0 = time.monotonic()
        assert srv.stop(sig, timeout=5) == 0
        assert time.monotonic() - t0 < 3 * SLOW
        assert recv_closed(idle) == b""
        idle.close()
        busy.close()
        # no worker or child outlives the server
        assert wait_until(lambda: not any(exists(k) for k in kids), timeout=3)
    srv.out.wait_for(r"pid \d+ exiting")


def test_event_back_pressure_bounds_memory_and_loses_nothing():
    """A client that sends 16 MB and does not read: the event loop must stop
    reading it (memory stays bounded) and echo everything once it reads."""
    with echod("event") as srv:
        base = srv.rss_kib()
        s = connect(srv.port, timeout=30)
        data = os.urandom(16 << 20)
        t = threading.Thread(target=s.sendall, args=(data,), daemon=True)
        t.start()
        time.sleep(1.0 * SLOW)      # the sender stalls: nobody reads
        assert t.is_alive(), "16 MB fit in the buffers: test proves nothing"
        if not SANITIZE and not VALGRIND:
            assert srv.rss_kib() - base < 2048
        got = recv_until(s, lambda d: len(d) >= len(data), timeout=30)
        t.join(10)
        s.close()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


@pytest.mark.skipif(SANITIZE or VALGRIND,
                    reason="needs a small address space")
def test_thread_that_cannot_start_closes_its_client():
    """With room for ~3 thread stacks, the 4th+ client is closed and
    logged; the server goes on serving once stacks are free again."""
    cmd = (f"ulimit -s 65536 && ulimit -v 200000 && exec "
           f"{binary('echod')} --model thread 127.0.0.1:0")
    p = Proc(["/bin/sh", "-c", cmd])
    STARTED.append(p)
    try:
        port = int(p.err.wait_for(r"listening on \S+:(\d+)").group(1))
        socks = []
        for _ in range(8):
            s = connect(port)
            socks.append(s)
        p.err.wait_for(r"cannot start a thread for 127\.0\.0\.1:\d+: .*: "
                       r"closing it")
        served = refused = 0
        for s in socks:
            try:
                s.sendall(b"ping\n")
                recv_until(s, lambda d: d == b"ping\n", timeout=1)
                served += 1
            except (AssertionError, OSError):   # closed or reset: refused
                refused += 1
        assert served >= 1 and refused >= 1
        for s in socks:
            s.close()
        assert wait_until(lambda: p.out.count(r"closed \(thread") >= served)
        assert echo_roundtrip(port, b"after\n") == b"after\n"
        assert p.alive()
        assert p.stop() == 0
    finally:
        p.kill()


@pytest.mark.skipif(VALGRIND, reason="valgrind needs descriptors of its own")
@pytest.mark.parametrize("model", ["thread", "event"])
def test_out_of_descriptors_sheds_and_recovers(model):
    """With 24 descriptors and 40 clients, the extra clients are closed at
    once (no spin, one warning), and service resumes when fds free up."""
    cmd = f"ulimit -n 24 && exec {binary('echod')} --model {model} 127.0.0.1:0"
    p = Proc(["/bin/sh", "-c", cmd])
    STARTED.append(p)
    try:
        port = int(p.err.wait_for(r"listening on \S+:(\d+)").group(1))
        socks = [connect(port) for _ in range(40)]
        served = shed = 0
        for s in socks:
            try:
                s.sendall(b"x")
                recv_until(s, lambda d: d == b"x", timeout=2)
                served += 1
            except (AssertionError, OSError):
                shed += 1
        assert served >= 10 and shed >= 10, (served, shed)
        p.err.wait_for(r"out of descriptors")
        assert p.err.count(r"out of descriptors") <= 3     # rate-limited
        for s in socks:
            s.close()
        assert wait_until(lambda: p.nfds() < 10)
        assert echo_roundtrip(port, b"after\n") == b"after\n"
        assert p.stop() == 0
    finally:
        p.kill()


@pytest.mark.parametrize("args, why", [
    ([], r"no address"),
    (["--model", "spoon", "0"], r"unknown model 'spoon'"),
    (["--model"], r"option '--model' needs a value"),
    (["-w", "0", "--model", "prefork", "0"], r"bad --workers '0'"),
    (["--workers", "2", "0"], r"--workers is for --model prefork"),
    (["--frobnicate", "0"], r"unknown option '--frobnicate'"),
    (["-x", "0"], r"unknown option '-x'"),
    (["1234", "5678"], r"give one address"),
    (["--listen", "1234", "5678"], r"give one address"),
    (["70000"], r"bad address '70000'"),
    (["host:port:x"], r"bad address"),
])
def test_usage_errors_exit_2(args, why):
    r = subprocess.run([binary("echod")] + args, capture_output=True,
                       text=True, timeout=10 * SLOW)
    assert r.returncode == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("echod: ") and re.search(why, first), r.stderr
    assert "usage: echod" in r.stderr
    assert r.stdout == ""


def test_help_and_version():
    r = subprocess.run([binary("echod"), "--help"], capture_output=True,
                       text=True, timeout=10 * SLOW)
    assert r.returncode == 0 and "usage: echod" in r.stdout
    r = subprocess.run([binary("echod"), "--version"], capture_output=True,
                       text=True, timeout=10 * SLOW)
    assert r.returncode == 0 and r.stdout == "echod 0.1.0\n"


def test_cannot_listen_exits_1():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    r = subprocess.run([binary("echod"), f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=10 * SLOW)
    taken.close()
    assert r.returncode == 1
    assert re.match(rf"echod: cannot listen on 127\.0\.0\.1:{port}: ",
                    r.stderr), r.stderr
