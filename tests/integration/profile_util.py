"""Helpers for the lab-profile tests (sink, echo, relay, select-chat).

helpers.py starts servers whose stdout is collected in memory; the floods
here would pile up gigabytes there, so QuietServer sends stdout elsewhere.
The rest opens and drives thousands of sockets at once without select()'s
FD_SETSIZE limit (epoll), each wait bounded in time."""
import os
import re
import resource
import select
import signal
import socket
import subprocess
import time

from helpers import SLOW, VALGRIND, Proc, Server, Stream, binary, connect


def raise_nofile(want):
    """Raise this process's soft descriptor limit towards want (never past
    the hard limit); return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class QuietServer(Proc):
    """chatd with stdout sent to a file (default /dev/null) instead of a
    pipe; stderr is collected as usual (self.err), self.port parsed from
    the listening line."""

    def __init__(self, args, stdout_path=os.devnull, listen="127.0.0.1:0",
                 valgrind=None):
        if valgrind is None:
            valgrind = VALGRIND
        cmd = [binary("chatd"), "--listen", listen] + list(args)
        if valgrind:
            cmd = ["valgrind", "-q", "--leak-check=full",
                   "--error-exitcode=99",
                   "--errors-for-leak-kinds=definite,indirect"] + cmd
        self.args = cmd
        self.stdout_path = stdout_path
        with open(stdout_path, "wb") as out:
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=subprocess.PIPE)
        self.pid = self.p.pid
        self.out = None
        self.err = Stream(self.p.stderr)
        m = self.err.wait_for(r"listening on \S+:(\d+) ", timeout=10)
        self.port = int(m.group(1))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.alive():
            self.stop()


def stop_all_read(srv, sig=signal.SIGTERM, timeout=10.0):
    """Stop srv with sig and wait until its stdout and stderr have been
    read to the end (Proc.stop returns at exit, before the readers are
    done); return the exit status."""
    rc = srv.stop(sig, timeout)
    for stream in (srv.out, srv.err):
        if stream is not None:
            stream.t.join(timeout * SLOW)
    return rc


def peer_name(sock):
    """How the server names this client: ADDR:PORT, [V6]:PORT."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def wait_count(stream, pattern, n, timeout=10.0):
    """Wait until pattern has matched at least n times in stream; return
    the count."""
    deadline = time.monotonic() + timeout * SLOW
    rx = re.compile(pattern)
    while True:
        got = len(rx.findall(stream.text()))
        if got >= n:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{got} of {n} {pattern!r} seen in time")
        time.sleep(0.02)


def open_clients(srv, n, batch=500, pattern=r"New connection from "):
    """Connect n clients to srv, batch by batch, each batch only once the
    server has logged all before it (the accept queue never overflows, so
    no SYN is dropped and retried a second later).  Returns the sockets,
    non-blocking.  Refused clients (no log line) must be counted by the
    caller through `pattern`; here every client must be logged."""
    socks = []
    while len(socks) < n:
        for _ in range(min(batch, n - len(socks))):
            s = connect(srv.port)
            s.setblocking(False)
            socks.append(s)
        wait_count(srv.out, pattern, len(socks), timeout=20)
    return socks


def recv_all_exact(socks, want, timeout=20.0):
    """Read from every socket until each has received exactly the bytes
    want (epoll: any number of descriptors).  Returns the seconds it took;
    raises if one got other bytes or time ran out."""
    ep = select.epoll()
    got = {}
    by_fd = {}
    for s in socks:
        ep.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = s
        got[s.fileno()] = b""
    left = len(socks)
    t0 = time.monotonic()
    deadline = t0 + timeout * SLOW
    try:
        while left > 0:
            wait = deadline - time.monotonic()
            if wait <= 0:
                short = sum(1 for v in got.values() if v != want)
                raise AssertionError(f"{short} of {len(socks)} clients did "
                                     f"not receive {want!r} in time")
            for fd, _ in ep.poll(wait, 1024):
                data = by_fd[fd].recv(65536)
                if not data:
                    raise AssertionError(f"fd {fd} closed; had {got[fd]!r}")
                got[fd] += data
                if not want.startswith(got[fd]):
                    raise AssertionError(f"fd {fd} got {got[fd]!r}")
                if got[fd] == want:
                    ep.unregister(fd)
                    left -= 1
        return time.monotonic() - t0
    finally:
        ep.close()


def closed_by_peer(sock, timeout=5.0):
    """True once sock reads as closed (EOF or reset) within timeout; data
    that arrives meanwhile is read and thrown away."""
    deadline = time.monotonic() + timeout * SLOW
    p = select.poll()
    p.register(sock.fileno(), select.POLLIN)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if not p.poll(max(1, int(left * 1000))):
            continue
        try:
            if sock.recv(65536) == b"":
                return True
        except BlockingIOError:
            continue
        except ConnectionResetError:
            return True


def flooder(port, source="/dev/urandom"):
    """A client that sends `source` as fast as it can and never reads
    (socat -u: data flows one way only), as the lab's
    `nc localhost 1234 < /dev/urandom | while sleep 1; do :; done`."""
    return subprocess.Popen(["socat", "-u", source,
                             f"TCP:127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop_proc(p):
    if p.poll() is None:
        p.kill()
    p.wait()
