#!/usr/bin/env python3
"""Soak: minutes of mixed load against one chatd, then the books are
balanced.

Clients join, talk, leave (half-close and read to the end), reset, read
slowly, or stop reading altogether, at random (seeded).  Every message is
numbered per sender (`@<client>:<seq>:...`).  Judged at the end:

  - every client still connected got every message sent after it joined
    (after its greeting arrived), from every sender, in order, with no gap
    and no duplicate -- only a sender that reset may miss its last ones;
  - no client that reads was cut off (stalled ones may be: that is the
    queue limit at work);
  - with everyone gone, the server's descriptors are back at the baseline
    and its RSS within --rss-slack KiB of it.

  soak.py --seconds 60 [--clients 100] [--rate 200] [--backend epoll]

Prints the figures, and `soak: N passed, M failed` last (exit status 1 on
any failure).  Loopback only; bounded in time."""
import argparse
import os
import random
import re
import selectors
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "torture"))

from torture_lib import TServer  # noqa: E402

MSG = re.compile(rb"@(\d+):(\d+):")


class Client:
    def __init__(self, soak, kind):
        self.soak = soak
        self.cid = soak.next_cid
        soak.next_cid += 1
        self.kind = kind            # normal, slow, stalled
        self.sock = socket.create_connection(("127.0.0.1", soak.port), 10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.joined = None          # when the greeting arrived
        self.last = {}              # sender -> last seq received
        self.first = {}             # sender -> first seq received
        self.seq = 0                # next seq this client sends
        self.leaving = False
        self.closed = False
        self.errors = []
        self.budget = 0.0           # slow readers: bytes they may read now
        self.watched = False
        self.watch(kind != "stalled")

    def watch(self, on):
        """Watch the socket only while this client reads: a reader that
        holds back must not make the selector spin."""
        if on and not self.watched and not self.closed:
            self.soak.sel.register(self.sock, selectors.EVENT_READ, self)
        elif not on and self.watched:
            self.soak.sel.unregister(self.sock)
        self.watched = on and not self.closed

    def readable(self):
        want = 1 << 18
        if self.kind == "slow" and not self.leaving:
            if self.budget < 512:
                self.watch(False)
                return
            want = int(self.budget)
        try:
            data = self.sock.recv(want)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.gone("closed by the server")
            return
        self.budget -= len(data)
        self.soak.delivered_bytes += len(data)
        lines = (self.buf + data).split(b"\n")
        self.buf = lines.pop()
        now = time.monotonic()
        for ln in lines:
            if self.joined is None:
                if ln.startswith(b"Welcome"):
                    self.joined = now
                continue
            m = MSG.match(ln)
            if not m:
                continue
            snd, n = int(m.group(1)), int(m.group(2))
            self.soak.deliveries += 1
            prev = self.last.get(snd)
            if prev is None:
                self.first[snd] = n
            elif n != prev + 1 and len(self.errors) < 5:
                self.errors.append(f"client {self.cid}: from {snd} got {n} "
                                   f"after {prev}")
            self.last[snd] = n

    def gone(self, why):
        if self.closed:
            return
        self.watch(False)
        self.closed = True
        self.sock.close()
        if not self.leaving:
            self.soak.cut_off[self.kind] += 1
            if self.kind != "stalled":
                self.soak.errors.append(f"client {self.cid} ({self.kind}): "
                                        f"{why}")
        self.soak.clients.discard(self)

    def publish(self):
        pad = b"p" * self.soak.rnd.randint(0, 300)
        line = b"@%d:%d:%s\n" % (self.cid, self.seq, pad)
        try:
            n = self.sock.send(line)
        except OSError:
            return
        if n < len(line):           # never happens at these rates;
            self.sock.setblocking(True)     # finish it, whole
            self.sock.sendall(line[n:])
            self.sock.setblocking(False)
        self.soak.sent_log[self.cid].append(time.monotonic())
        self.seq += 1
        self.soak.sent += 1

    def leave(self):
        """Half-close, then read to the end (the server closes it)."""
        self.leaving = True
        self.watch(True)
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.gone("shutdown failed")

    def reset(self):
        self.leaving = True
        self.soak.reset_senders.add(self.cid)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.gone("reset")


class Soak:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.sel = selectors.DefaultSelector()
        self.clients = set()
        self.next_cid = 0
        self.sent = 0
        self.deliveries = 0
        self.delivered_bytes = 0
        self.sent_log = {}          # cid -> send times, by seq
        self.reset_senders = set()
        self.cut_off = {"normal": 0, "slow": 0, "stalled": 0}
        self.errors = []
        self.counts = {"joins": 0, "leaves": 0, "resets": 0}
        self.credit = 0.0           # messages due

    def join(self):
        r = self.rnd.random()
        kind = "normal" if r < 0.8 else ("slow" if r < 0.95 else "stalled")
        c = Client(self, kind)
        self.sent_log[c.cid] = []
        self.clients.add(c)
        self.counts["joins"] += 1
        return c

    def active(self):
        return [c for c in self.clients if not c.leaving]

    def step(self, dt):
        a = self.a
        act = self.active()
        # publish: a Poisson-ish rate over the normal clients that joined
        talkers = [c for c in act if c.joined and c.kind == "normal"]
        self.credit += self.rnd.random() * 2 * a.rate * dt
        while self.credit >= 1 and talkers:
            self.rnd.choice(talkers).publish()
            self.credit -= 1
        for c in act:
            if c.kind == "slow":
                c.budget = min(c.budget + a.slow_rate * dt, 1 << 16)
                if c.budget >= 512:
                    c.watch(True)
        if len(act) < a.clients and self.rnd.random() < 0.3:
            self.join()
        elif act and self.rnd.random() < a.churn * dt:
            self.rnd.choice(act).leave()
            self.counts["leaves"] += 1
        elif act and self.rnd.random() < a.churn * dt / 3:
            self.rnd.choice(act).reset()
            self.counts["resets"] += 1

    def pump(self, timeout):
        for key, _ in self.sel.select(timeout):
            key.data.readable()

    def run(self, srv):
        self.port = srv.port
        end = time.monotonic() + self.a.seconds
        last = time.monotonic()
        peak_rss = peak_fds = 0
        next_sample = 0.0
        while time.monotonic() < end:
            self.pump(0.01)
            now = time.monotonic()
            self.step(now - last)
            last = now
            if now >= next_sample:
                peak_rss = max(peak_rss, srv.rss_kib())
                peak_fds = max(peak_fds, srv.nfds())
                next_sample = now + 0.5
            if not srv.alive():
                self.errors.append("the server died")
                return peak_rss, peak_fds
        return peak_rss, peak_fds

    def settle(self, srv):
        """Stop talking; let everyone that reads catch up with an END line
        from a fresh client; then check the books."""
        for c in list(self.clients):
            if c.kind != "normal" and not c.leaving:
                c.kind = "normal"   # read at full speed from now on
                c.watch(True)
        ender = self.join()
        ender.kind = "normal"
        deadline = time.monotonic() + 60
        while ender.joined is None and time.monotonic() < deadline:
            self.pump(0.05)
        ender.publish()
        final = (ender.cid, 0)
        while time.monotonic() < deadline:
            self.pump(0.05)
            waiting = [c for c in self.clients if not c.leaving and
                       c.last.get(final[0], -1) < final[1]]
            if not waiting:
                break
        for c in self.active():
            self.check(c)
        for c in list(self.clients):
            c.leaving = True
            c.gone("done")

    def check(self, c):
        self.errors.extend(c.errors)
        if c.joined is None:
            self.errors.append(f"client {c.cid}: never greeted")
            return
        for snd, times in self.sent_log.items():
            after = [i for i, t in enumerate(times) if t > c.joined]
            if not after:
                continue
            if snd not in c.last:
                self.errors.append(f"client {c.cid}: nothing from {snd}, "
                                   f"which sent {len(after)} after it joined")
                continue
            if c.first[snd] > after[0]:
                self.errors.append(f"client {c.cid}: from {snd} first got "
                                   f"{c.first[snd]}, expected {after[0]}")
            if c.last[snd] != len(times) - 1 and snd not in self.reset_senders:
                self.errors.append(f"client {c.cid}: from {snd} last got "
                                   f"{c.last[snd]} of {len(times) - 1}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=float, default=200,
                    help="messages per second, all senders together")
    ap.add_argument("--churn", type=float, default=2.0,
                    help="leaves per second (resets: a third of that)")
    ap.add_argument("--slow-rate", type=float, default=64 << 10,
                    help="bytes per second a slow reader takes")
    ap.add_argument("--backend", default="epoll")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--server-args", default="",
                    help="more chatd options (to check the checker: "
                    "'--queue-limit 4K --on-overflow drop' must fail)")
    ap.add_argument("--rss-slack", type=int, default=2048,
                    help="KiB the final RSS may exceed the baseline by")
    a = ap.parse_args()
    s = Soak(a)
    srv = TServer(["--backend", a.backend] + a.server_args.split())
    try:
        s.port = srv.port
        for _ in range(3):              # warm up: allocations settle
            warm = [s.join() for _ in range(20)]
            t = time.monotonic()
            while time.monotonic() - t < 0.3:
                s.pump(0.01)
            for c in warm:
                c.leaving = True
                c.gone("warm-up")
        time.sleep(0.3)
        rss0, fds0 = srv.rss_kib(), srv.nfds()
        s.counts["joins"] = 0
        t0 = time.monotonic()
        peak_rss, peak_fds = s.run(srv)
        s.settle(srv)
        ok_fds = wait(lambda: srv.nfds() <= fds0, 10)
        time.sleep(0.5)
        rss1, fds1 = srv.rss_kib(), srv.nfds()
        took = time.monotonic() - t0
        if not ok_fds:
            s.errors.append(f"descriptors {fds1}, baseline {fds0}")
        if rss1 > rss0 + a.rss_slack:
            s.errors.append(f"RSS {rss1} KiB, baseline {rss0} KiB")
        rc = srv.stop()
        if rc != 0:
            s.errors.append(f"exit status {rc}: {srv.err.text()[-1000:]}")
    finally:
        srv.kill()
    print(f"soak: {took:.0f} s on {a.backend}, {s.counts['joins']} joins, "
          f"{s.counts['leaves']} leaves, {s.counts['resets']} resets, "
          f"stalled readers cut off: {s.cut_off['stalled']}")
    print(f"soak: {s.sent} messages sent, {s.deliveries} deliveries, "
          f"{s.delivered_bytes / 1e6:.1f} MB delivered")
    print(f"soak: RSS {rss0} KiB at start, {peak_rss} KiB peak, {rss1} KiB "
          f"at end; descriptors {fds0} at start, {peak_fds} peak, {fds1} "
          f"at end")
    for e in s.errors[:20]:
        print("soak: FAIL:", e)
    checks = 4
    failed = min(checks, len(s.errors))
    print(f"soak: {checks - failed} passed, {failed} failed")
    sys.exit(1 if s.errors else 0)


def wait(pred, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


if __name__ == "__main__":
    main()
