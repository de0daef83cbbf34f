"""Shared pieces of the torture suite: a server under observation, a canary
pair of clients, and the pass criteria every attack is judged by.

A case looks like this:

    with TServer(["--backend", backend]) as srv, Guard(srv) as g:
        ... the attack ...
        g.attack_over()         # optional: end of the timed window
    # Guard's exit: server alive, canary lost nothing and kept chatting
    # during the attack, descriptors back at the baseline, peak RSS within
    # what the case allows, a fresh client still chats.

Latency is judged relative to the attack, never against an absolute bound:
the canary must get at least half of its messages through *while* the
attack lasts (a server stalled by the attack delivers none until it ends).
Sizes: SIZE(default, full) picks the second under TORTURE_FULL=1."""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from helpers import (BACKENDS, SANITIZE, SLOW, VALGRIND, Proc,  # noqa: E402
                     binary, recv_closed, recv_until, wait_until)

# Valgrind and the sanitizers inflate RSS (shadow memory, redzones,
# quarantine): memory bounds are checked only on a plain build.
MEASURE_RSS = not (VALGRIND or SANITIZE)

FULL = os.environ.get("TORTURE_FULL") == "1"
AGENTS = os.path.join(HERE, "agents.py")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
SHIM = os.path.join(os.environ.get("CHATD_BUILD",
                                   os.path.join(ROOT, "build")), "faultshim.so")

__all__ = ["BACKENDS", "SLOW", "VALGRIND", "MEASURE_RSS", "FULL", "SIZE", "TServer", "Guard",
           "Canary", "Agent", "dial", "rst_close", "line_model", "cpu_seconds",
           "close_wait", "recv_closed", "recv_until", "wait_until", "binary",
           "chat_works", "packet", "read_packets", "drain", "Sampler",
           "slow_socket", "SHIM"]


def SIZE(default, full):
    return full if FULL else default


def packet(ptype, payload):
    return struct.pack("=iQ", ptype, len(payload)) + payload


def read_packets(data):
    """Split data into (type, payload) packets; a trailing partial is
    ignored."""
    out = []
    while len(data) >= 12:
        t, n = struct.unpack_from("=iQ", data)
        if len(data) < 12 + n:
            break
        out.append((t, data[12:12 + n]))
        data = data[12 + n:]
    return out


def line_model(data, max_len=1024, eof=True):
    """The messages the line profile makes of a byte stream: LF-terminated
    lines, cut into max_len pieces; a final partial line counts at EOF."""
    out = []
    i = 0
    while i < len(data):
        nl = data.find(b"\n", i, i + max_len + 1)
        if nl != -1:
            out.append(data[i:nl])
            i = nl + 1
        elif len(data) - i > max_len:
            out.append(data[i:i + max_len])
            i += max_len
        else:
            if eof:
                out.append(data[i:])
            break
    return out


def dial(srv_or_addr, timeout=10.0, rcvbuf=0, nodelay=True, source=None):
    """A connected blocking socket to the server's first address (from the
    local address `source`, e.g. "127.0.0.2", if given)."""
    addr = srv_or_addr if isinstance(srv_or_addr, str) else srv_or_addr.addr
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = addr[5:]
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout * SLOW)
    if source is not None:
        s.bind((source, 0))
    s.connect(target)
    if nodelay and s.family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def slow_socket(srv, rcvbuf=4096):
    """A client with a tiny receive buffer that will never read."""
    return dial(srv, rcvbuf=rcvbuf)


def rst_close(s):
    """Close with SO_LINGER {1, 0}: the server gets an RST, not a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def drain(s, seconds=0.2):
    """Read and discard what arrives for a moment; returns the bytes."""
    data = b""
    s.settimeout(seconds)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, BlockingIOError):
        pass
    s.settimeout(10 * SLOW)
    return data


def cpu_seconds(pid):
    """utime + stime of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def close_wait(port):
    """Connections to local port `port` in CLOSE_WAIT (the server has not
    closed its end of a connection its peer closed)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fld = line.split()
                    if (int(fld[1].rsplit(":", 1)[1], 16) == port
                            and fld[3] == "08"):
                        n += 1
        except OSError:
            pass
    return n


class TServer(Proc):
    """chatd under observation.  `wrap` goes before the binary (prlimit);
    `env` is added to the environment (LD_PRELOAD).  self.addr is the first
    address it listens on, self.addrs all of them."""

    def __init__(self, args=(), listen=("127.0.0.1:0",), wrap=(), env=None,
                 log_quiet=True, name="chatd"):
        args = list(args)
        for a in listen:
            args = ["--listen", a] + args
        if log_quiet and "--log" not in args:
            args += ["--log", "quiet"]
        full_env = dict(os.environ)
        full_env.update(env or {})
        cmd = [binary(name)] + args
        if VALGRIND:
            cmd = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=99",
                   "--errors-for-leak-kinds=definite,indirect"] + cmd
        super().__init__(list(wrap) + cmd, env=full_env, valgrind=False)
        self.addrs = []
        start = 0
        for _ in listen:
            m = self.err.wait_for(r"listening on (\S+)", timeout=10,
                                  start=start)
            self.addrs.append(m.group(1))
            start = m.end()
        self.addr = self.addrs[0]
        # The spare descriptor is opened after the listening line: let the
        # count settle before anyone takes it as a baseline.
        same, last = 0, -1
        while same < 3:
            time.sleep(0.02)
            n = self.nfds()
            same = same + 1 if n == last else 0
            last = n
        pm = re.search(r":(\d+)$", self.addr)
        self.port = int(pm.group(1)) if pm and not self.addr.startswith(
            "unix:") else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.alive():
            rc = self.stop()
            if exc[0] is None:
                assert rc == 0, f"exit status {rc}\n{self.err.text()[-2000:]}"

    def cpu(self):
        return cpu_seconds(self.pid)


class Agent:
    """A process from agents.py; waits for its `ready`."""

    def __init__(self, *args, timeout=30.0):
        self.p = subprocess.Popen([PY, AGENTS] + [str(a) for a in args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        line = self._readline(timeout)
        if line.strip() != b"ready":
            err = self.p.stderr.read().decode(errors="replace") \
                if self.p.poll() is not None else ""
            self.p.kill()
            raise AssertionError(f"agent {args[0]} did not start: {line!r} "
                                 f"{err}")

    def _readline(self, timeout):
        box = []
        t = threading.Thread(target=lambda: box.append(
            self.p.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout * SLOW)
        if not box:
            self.p.kill()
            raise AssertionError("agent did not answer in time")
        return box[0]

    def go(self):
        self.p.stdin.write(b"go\n")
        self.p.stdin.flush()

    def result(self, timeout=120.0):
        """Close its stdin (stop) and return its JSON report."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        line = self._readline(timeout)
        self.p.wait(timeout * SLOW)
        if not line:
            raise AssertionError("agent died: " + self.p.stderr.read().decode(
                errors="replace")[-2000:])
        return json.loads(line)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class Canary(Agent):
    """Two well-behaved clients that keep chatting every `interval`."""

    def __init__(self, srv, packet_mode=False, interval=0.05):
        args = ["canary", srv.addr, "--interval", interval,
                "--timeout", 20 * SLOW]
        if packet_mode:
            args.append("--packet")
        super().__init__(*args)

    def check(self, start, end):
        """Stop; assert no loss and that it kept chatting between start
        and end (monotonic times).  Returns a summary."""
        r = self.result(timeout=60)
        assert not r["errors"], f"canary: {r['errors']}"
        assert not r["order_errors"], f"canary order: {r['order_errors'][:5]}"
        recs = r["records"]
        lost = [n for n, _, a, b in recs if a is None or b is None]
        assert not lost, f"canary lost {len(lost)} of {len(recs)}: {lost[:10]}"
        lat = sorted(max(a, b) - t for _, t, a, b in recs)
        window = end - start
        during = [(t, max(a, b)) for _, t, a, b in recs
                  if start <= t <= end - 0.2 * window]
        summary = {"messages": len(recs), "window": round(window, 3),
                   "p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else 0,
                   "max_ms": round(1000 * lat[-1], 2) if lat else 0}
        if window >= 1.0 * SLOW and len(during) >= 4:
            on_time = sum(1 for _, got in during if got <= end)
            summary["on_time"] = f"{on_time}/{len(during)}"
            assert on_time >= len(during) / 2, (
                f"canary stalled during the attack: only {on_time} of "
                f"{len(during)} lines arrived before it ended ({summary})")
        return summary


class Sampler:
    """Samples the server's RSS every 20 ms; .peak is the highest seen."""

    def __init__(self, proc):
        self.proc = proc
        self.peak = 0
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                self.peak = max(self.peak, self.proc.rss_kib())
            except OSError:
                return
            self.stop_ev.wait(0.02)

    def stop(self):
        self.stop_ev.set()
        self.t.join()
        return self.peak


def chat_works(srv, packet_mode=False, timeout=5.0):
    """A fresh client joins and gets its own message back."""
    s = dial(srv, timeout=timeout)
    try:
        if packet_mode:
            nick = b"probe%d" % (time.monotonic_ns() % 10**9)
            s.sendall(packet(0, nick) + packet(1, b"probe"))
            data = recv_until(s, lambda d: any(
                t == 1 and p.endswith(b"probe") for t, p in read_packets(d)),
                timeout=timeout)
        else:
            s.sendall(b"probe line\n")
            data = recv_until(s, lambda d: b"probe line\n" in d,
                              timeout=timeout)
        return data
    finally:
        s.close()


class Guard:
    """The pass criteria around an attack on `srv` (see the module doc).

    rss_slack_kib: how much the server's peak RSS may exceed the baseline
    (None: not checked).  canary: start the canary pair.  fds: check the
    descriptor count is back at the baseline at the end."""

    def __init__(self, srv, rss_slack_kib=4096, canary=True, packet_mode=False,
                 fds=True, probe=True, latency=True):
        self.srv = srv
        self.rss_slack = rss_slack_kib if MEASURE_RSS else None
        self.want_canary = canary
        self.latency = latency      # False: the attack pauses the server
        self.packet = packet_mode
        self.check_fds = fds
        self.probe = probe
        self.end = None
        self.summary = {}

    def __enter__(self):
        srv = self.srv
        self.canary = Canary(srv, self.packet) if self.want_canary else None
        if self.canary:
            time.sleep(0.2)     # the canary's first lines are in the baseline
        # Settle: the canary's first messages and buffers are allocated.
        self.base_fds = srv.nfds()
        self.base_rss = srv.rss_kib()
        self.sampler = Sampler(srv)
        self.start = time.monotonic()
        return self

    def attack_over(self):
        """Mark the end of the attack's timed window (default: the end of
        the with block)."""
        if self.end is None:
            self.end = time.monotonic()

    def __exit__(self, exc_type, exc, tb):
        self.attack_over()
        peak = self.sampler.stop()
        if exc_type is not None:
            if self.canary:
                self.canary.kill()
            return False
        srv = self.srv
        assert srv.alive(), f"server died\n{srv.err.text()[-3000:]}"
        if self.canary:
            self.summary["canary"] = self.canary.check(
                self.start, self.end if self.latency else self.start)
        self.summary["rss_kib"] = (self.base_rss, peak)
        if self.rss_slack is not None:
            assert peak <= self.base_rss + self.rss_slack, (
                f"server RSS peaked at {peak} KiB, baseline {self.base_rss} "
                f"KiB, allowed +{self.rss_slack} KiB")
        if self.check_fds:
            base = self.base_fds - (2 if self.canary else 0)
            ok = wait_until(lambda: srv.nfds() <= base, timeout=10)
            assert ok, (f"server holds {srv.nfds()} descriptors, "
                        f"baseline {base}")
        if self.probe:
            chat_works(srv, self.packet)
        assert srv.alive()
        print("torture:", json.dumps(self.summary))
        return False


def kill_stop(srv):
    os.kill(srv.pid, signal.SIGSTOP)


def kill_cont(srv):
    os.kill(srv.pid, signal.SIGCONT)


class Reader:
    """Reads a socket in a background thread until it closes; .data (a
    bytearray) holds what arrived.  wait(pred) waits until pred(data)."""

    def __init__(self, sock):
        self.sock = sock
        self.data = bytearray()
        self.closed = False
        self.cond = threading.Condition()
        # Blocking from now on, set here and not in the thread: changing
        # the mode while another thread is in sendall() breaks that call.
        sock.settimeout(None)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                chunk = b""
            with self.cond:
                if not chunk:
                    self.closed = True
                    self.cond.notify_all()
                    return
                self.data += chunk
                self.cond.notify_all()

    def __len__(self):
        return len(self.data)

    def wait(self, pred, timeout=10.0, what="data", copy=True):
        """Returns a copy of the data (copy=False: nothing, which is what a
        loop that waits often wants: copying is linear in the data)."""
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while not pred(self.data):
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError(
                        f"{'closed' if self.closed else 'timed out'} waiting "
                        f"for {what}; {len(self.data)} bytes, ending "
                        f"{bytes(self.data[-200:])!r}")
                self.cond.wait(min(left, 0.5))
            return bytes(self.data) if copy else None

    def wait_closed(self, timeout=10.0):
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("peer did not close")
                self.cond.wait(min(left, 0.5))
            return bytes(self.data)


def paced_send(sock, data, readers, ratio=1.0, ahead=256 << 10, chunk=1 << 16,
               timeout=60.0, rate=40 << 20):
    """Send data in chunks, never more than `ahead` bytes before what every
    reader has received (expected: ratio times what was sent), and at most
    `rate` bytes a second.  Keeps the test's own readers, and the canary
    in its process, from falling a whole queue limit behind the server
    (which would rightly cut them off) on a busy machine."""
    t0 = time.monotonic()
    for i in range(0, len(data), chunk):
        sent = i
        for r in readers:
            r.wait(lambda d: len(d) >= sent * ratio - ahead, timeout=timeout,
                   what="the reader to catch up", copy=False)
        early = t0 + i / rate - time.monotonic()
        if early > 0:
            time.sleep(early)
        sock.sendall(data[i:i + chunk])


__all__ += ["paced_send"]


def sendall_bg(sock, data, chunk=0):
    """Send data from a background thread (in pieces of chunk bytes, one
    send each, if chunk).  Returns the thread."""
    def run():
        try:
            if chunk:
                for i in range(0, len(data), chunk):
                    sock.sendall(data[i:i + chunk])
            else:
                sock.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def strip_noise(lines):
    """Drop the greeting and the canary's lines from a list of lines."""
    return [ln for ln in lines
            if not ln.startswith(b"Welcome") and b"canary " not in ln[:16]]


__all__ += ["Reader", "sendall_bg", "strip_noise", "kill_stop", "kill_cont"]


def hangup(s):
    """Close s even if a Reader thread is blocked in recv on it (a plain
    close would not wake that thread, and the server would never see the
    end of the connection)."""
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


__all__ += ["hangup"]
