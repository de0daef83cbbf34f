"""Shared harness for chatd's integration tests.

Start the real binaries from $CHATD_BUILD (default build/), talk to them over
real sockets, read their console as it happens.  Everything is bounded in
time: a wait that does not succeed raises, never hangs."""
import os
import queue
import re
import select
import signal
import socket
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CHATD_BUILD", os.path.join(ROOT, "build"))
BACKENDS = ["epoll", "poll", "select"]
VALGRIND = os.environ.get("CHATD_VALGRIND") == "1"
SANITIZE = os.environ.get("CHATD_SANITIZE") == "1"
# Generous: sanitizer and valgrind builds are several times slower.
SLOW = 10 if VALGRIND else (3 if SANITIZE else 1)


def binary(name):
    return os.path.join(BUILD, name)


class Stream:
    """Collects a pipe's bytes in a background thread."""

    def __init__(self, pipe):
        self.buf = b""
        self.cond = threading.Condition()
        self.closed = False
        self.t = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self.t.start()

    def _pump(self, pipe):
        while True:
            data = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
            with self.cond:
                if not data:
                    self.closed = True
                    self.cond.notify_all()
                    return
                self.buf += data
                self.cond.notify_all()

    def text(self):
        with self.cond:
            return self.buf.decode("utf-8", "replace")

    def wait_for(self, pattern, timeout=5.0, start=0):
        """Wait until regex pattern matches the text from offset start;
        return the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while True:
                m = rx.search(self.buf.decode("utf-8", "replace"), start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError(
                        f"timed out waiting for {pattern!r}; got:\n"
                        + self.buf.decode("utf-8", "replace")[-3000:])
                self.cond.wait(left)

    def count(self, pattern):
        return len(re.findall(pattern, self.text()))


class Proc:
    """A running binary with its stdout and stderr collected."""

    def __init__(self, args, env=None, stdin=subprocess.DEVNULL, valgrind=None,
                 **popen):
        if valgrind is None:
            valgrind = VALGRIND
        cmd = list(args)
        if valgrind:
            cmd = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=99",
                   "--errors-for-leak-kinds=definite,indirect"] + cmd
        self.args = cmd
        self.p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, **popen)
        self.pid = self.p.pid
        self.out = Stream(self.p.stdout)
        self.err = Stream(self.p.stderr)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Send sig and wait; return the exit status."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError(f"{self.args[0]} did not exit after {sig}")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def alive(self):
        return self.p.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def nfds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))


class Server(Proc):
    """chatd (or chatsrv) started on an ephemeral port unless told otherwise.

    The server prints `chatd: listening on ADDR` to stderr for each
    listener; self.addrs holds those, self.port the first TCP port."""

    def __init__(self, args=(), name="chatd", listen="127.0.0.1:0",
                 wait_listen=True, **kw):
        args = list(args)
        if listen is not None:
            args = ["--listen", listen] + args
        super().__init__([binary(name)] + args, **kw)
        self.addrs = []
        self.port = None
        if wait_listen:
            m = self.err.wait_for(r"listening on (\S+)", timeout=10)
            self.addrs.append(m.group(1))
            pm = re.search(r":(\d+)$", m.group(1))
            if pm:
                self.port = int(pm.group(1))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.alive():
            self.stop()


def free_port():
    """A loopback TCP port free a moment ago (for a server's --listen or a
    peer that must be told its port before it starts)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(port, host="127.0.0.1", timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout * SLOW)
    return s


def connect_unix(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout * SLOW)
    s.connect(path)
    return s


def _wait_readable(sock, left):
    """poll, not select: a test may hold descriptors past FD_SETSIZE."""
    p = select.poll()
    p.register(sock, select.POLLIN)
    return bool(p.poll(max(0, left) * 1000))


def recv_until(sock, pred, timeout=5.0, limit=1 << 28):
    """Read from sock until pred(data) is true; return data."""
    data = b""
    deadline = time.monotonic() + timeout * SLOW
    while not pred(data):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; received {data[-500:]!r}")
        if not _wait_readable(sock, left):
            continue
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise AssertionError(f"connection closed; received {data[-500:]!r}")
        data += chunk
        if len(data) > limit:
            raise AssertionError("too much data")
    return data


def recv_lines(sock, n, timeout=5.0):
    """Read until n complete lines have arrived; return them (bytes, no LF)."""
    data = recv_until(sock, lambda d: d.count(b"\n") >= n, timeout)
    return data.split(b"\n")[:n]


def recv_closed(sock, timeout=5.0):
    """Read until the peer closes; return everything received."""
    data = b""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"peer did not close; got {data[-300:]!r}")
        if not _wait_readable(sock, left):
            continue
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def wait_until(pred, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
