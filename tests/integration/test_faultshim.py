"""Fault injection: the line profile gives the same transcripts when every
socket call may return a short count, EINTR or EAGAIN.

build/faultshim.so (tests/shim/faultshim.c) is preloaded into chatd with a
seed; each scenario runs once without it and once per seed with it, and
what every client received must be byte-for-byte the same.  The shim's own
counts prove that faults were injected."""
import os
import socket
import threading

import pytest

from helpers import BACKENDS, SLOW, Server, binary, connect, recv_until

SHIM = binary("faultshim.so")
SEEDS = [1, 7, 42]

pytestmark = pytest.mark.skipif(not os.path.exists(SHIM),
                                reason="build/faultshim.so is not built")


class Client:
    """A connection whose bytes are collected in a thread."""

    def __init__(self, port):
        self.s = connect(port)
        self.s.settimeout(None)
        self.data = b""
        self.cond = threading.Condition()
        self.closed = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                chunk = self.s.recv(65536)
            except OSError:
                chunk = b""
            with self.cond:
                if not chunk:
                    self.closed = True
                else:
                    self.data += chunk
                self.cond.notify_all()
            if not chunk:
                return

    def wait(self, needle, count=1, timeout=20.0):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.data.count(needle) >= count or self.closed,
                timeout * SLOW)
            assert ok and self.data.count(needle) >= count, (
                f"waiting for {needle[:40]!r} x{count}; got "
                f"{self.data[-300:]!r}")

    def wait_closed(self, timeout=20.0):
        with self.cond:
            assert self.cond.wait_for(lambda: self.closed, timeout * SLOW)

    def send(self, data):
        self.s.sendall(data)

    def hangup(self):
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()


def scenario(port):
    """A fixed conversation; each step waits for its effect before the
    next, so the transcript does not depend on timing.  Returns what each
    client received."""
    a = Client(port)
    a.wait(b"\n")
    b = Client(port)
    b.wait(b"\n")
    a.send(b"hello\n")
    b.wait(b"hello\n")
    b.send(b"L" * 3000 + b"\n")                 # cut into 1024-byte pieces
    a.wait(b"L" * 952 + b"\n")
    a.send(b"par")
    a.send(b"tial\n")
    b.wait(b"partial\n")
    a.send(b"".join(b"burst %d\n" % i for i in range(50)))
    b.wait(b"burst 49\n")
    c = Client(port)
    c.wait(b"\n")
    c.send(b"no newline " * 10)
    c.s.shutdown(socket.SHUT_WR)                # delivered at EOF
    c.wait_closed()
    b.wait(b"no newline \n")
    big = b"".join(b"%06d %s\n" % (i, b"v" * (i % 200)) for i in range(3000))
    b.send(big)                                 # ~330 KB: many short writes
    a.wait(b"002999 ")
    b.wait(b"002999 ")
    for ch in b"one byte per send\n" * 5:      # many small reads
        a.send(bytes([ch]))
    b.wait(b"one byte per send\n", 5)
    a.send(b"\x00nul\x00 and \x1b[2J escapes\n")
    b.wait(b"escapes\n")
    a.send(b"END\n")
    a.wait(b"END\n")
    b.wait(b"END\n")
    a.hangup()
    b.hangup()
    return [a.data, b.data, c.data]


def run(backend, tmp_path, seed=None):
    env = dict(os.environ)
    stats = tmp_path / f"stats-{backend}-{seed}"
    if seed is not None:
        env.update(LD_PRELOAD=SHIM, FAULTSHIM_SEED=str(seed),
                   FAULTSHIM_RATE="0.5", FAULTSHIM_STATS=str(stats),
                   # a sanitizer runtime wants to come first; the shim
                   # only wraps libc calls, so the order does not matter
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                   ":verify_asan_link_order=0")
    with Server(["--backend", backend, "--log", "quiet"], env=env) as srv:
        out = scenario(srv.port)
        assert srv.stop() == 0
    if seed is None:
        return out, None
    counts = dict(kv.split("=") for kv in stats.read_text().split())
    return out, {k: int(v) for k, v in counts.items()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_transcripts_under_injected_faults(backend, tmp_path):
    clean, _ = run(backend, tmp_path)
    assert clean[0].endswith(b"END\n") and b"L" * 1024 + b"\n" in clean[0]
    for seed in SEEDS:
        faulty, counts = run(backend, tmp_path, seed)
        assert counts["eintr"] > 0 and counts["eagain"] > 0 \
            and counts["short"] > 0, counts
        for who, (x, y) in zip("abc", zip(clean, faulty)):
            assert x == y, (f"seed {seed}: client {who} got a different "
                            f"transcript ({len(x)} vs {len(y)} bytes)")
