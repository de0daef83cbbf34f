#!/usr/bin/env python3
"""Client processes for the torture suite and the soak test.

They run as separate processes so that what they measure (the canary's
latency, a receiver's throughput) is not skewed by the test process's own
threads or its global interpreter lock.  Each prints `ready` on stdout once
connected, then one JSON line with its findings when it is done.

  agents.py canary    ADDR [--packet] [--interval S]
      Two clients, A and B, take turns sending `canary <seq> <t>` every
      interval until stdin closes; both must receive every canary line, in
      order.  Prints the send and receive times of each.
  agents.py receivers ADDR N --senders S --count C
      N clients that read until each has seen C numbered messages
      (`@<sender>:<seq>:`) from each of S senders; checks that every
      sender's numbers arrive strictly increasing with no gap.
  agents.py senders ADDR S --count C [--size B] [--window W] [--first K]
      S clients send C numbered messages each (senders K, K+1, ...), round
      robin, while draining what the server sends them; with --window, each
      keeps at most W bytes sent but not yet received back (route all).

ADDR is HOST:PORT or unix:PATH.  Every wait is bounded (--timeout)."""
import argparse
import faulthandler
import json
import os
import re
import selectors
import socket
import struct
import sys
import time

CANARY_RX = re.compile(rb"canary (\d+) ")
NUM_RX = re.compile(rb"@(\d+):(\d+):")


def big_rcvbuf(s, size=8 << 20):
    """A receive buffer big enough to ride out a few hundred ms off the
    CPU while megabytes go by (the canary must not be cut off for being
    a Python process on a busy machine).  SO_RCVBUFFORCE passes rmem_max
    where we may; else take what SO_RCVBUF gives."""
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, size)       # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def dial(addr, rcvbuf=0):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = addr[5:]
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    if rcvbuf < 0:
        big_rcvbuf(s)
    elif rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect(target)
    if not addr.startswith("unix:"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setblocking(False)
    return s


def packet(ptype, payload):
    return struct.pack("=iQ", ptype, len(payload)) + payload


class Framer:
    """Splits a byte stream into messages: lines, or packet payloads."""

    def __init__(self, packet_mode):
        self.packet = packet_mode
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        if self.packet:
            while len(self.buf) >= 12:
                ptype, plen = struct.unpack_from("=iQ", self.buf)
                if len(self.buf) < 12 + plen:
                    break
                out.append((ptype, self.buf[12:12 + plen]))
                self.buf = self.buf[12 + plen:]
            return out
        if b"\n" not in data:
            return out
        parts = self.buf.split(b"\n")
        self.buf = parts.pop()
        return [(1, p) for p in parts]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def sync(socks, framers, packet_mode, timeout=30):
    """Until both clients see a message from the first one: both are
    accepted (and registered) before the first counted message."""
    seen = [False] * len(socks)
    deadline = time.monotonic() + timeout
    k = 0
    while not all(seen):
        if time.monotonic() > deadline:
            raise SystemExit("canary: the server does not relay")
        body = b"sync %d" % k
        k += 1
        socks[0].send(packet(1, body) if packet_mode else body + b"\n")
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            for i, s in enumerate(socks):
                try:
                    data = s.recv(1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    raise SystemExit("canary: closed by the server")
                for ptype, msg in framers[i].feed(data):
                    if ptype == 1 and b"sync " in msg:
                        seen[i] = True
            time.sleep(0.005)


def canary(a):
    sel = selectors.DefaultSelector()
    socks = [dial(a.addr, -1), dial(a.addr, -1)]
    framers = [Framer(a.packet), Framer(a.packet)]
    recv = [{}, {}]            # seq -> receive time, per client
    order_errors = []
    last = [[-1, -1], [-1, -1]]     # per client, per sender
    seen = [[], []]                 # the order each client saw
    errors = []
    if a.packet:
        for i, s in enumerate(socks):
            s.setblocking(True)
            s.sendall(packet(0, b"canary%d_%d" % (os.getpid(), i)))
            s.setblocking(False)
    sync(socks, framers, a.packet)
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    print("ready", flush=True)
    sent = {}
    seq = 0
    next_send = time.monotonic()
    stopping = None
    while True:
        now = time.monotonic()
        if stopping is None and now >= next_send:
            s = socks[seq % 2]
            body = b"canary %d %.6f" % (seq, now)
            data = packet(1, body) if a.packet else body + b"\n"
            try:
                s.send(data)    # tiny: fits, or the socket is broken
                sent[seq] = now
            except OSError as e:
                errors.append(f"send {seq}: {e}")
            seq += 1
            next_send += a.interval
            if next_send < now:
                next_send = now + a.interval
        if stopping is not None:
            done = all(len(r) >= len(sent) for r in recv)
            if done or now > stopping + a.timeout:
                break
            wait = 0.1
        else:
            wait = max(0.0, next_send - time.monotonic())
        for key, _ in sel.select(wait):
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    sel.unregister(sys.stdin)
                    stopping = time.monotonic()
                continue
            i = key.data
            try:
                data = socks[i].recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError as e:
                data = b""
                errors.append(f"client {i}: {e}")
            t = time.monotonic()
            if not data:
                errors.append(f"client {i}: closed by the server")
                sel.unregister(socks[i])
                continue
            for ptype, msg in framers[i].feed(data):
                if ptype == 3:
                    errors.append(f"client {i}: error packet {msg!r}")
                m = CANARY_RX.search(msg) if ptype == 1 else None
                if m is None:
                    continue
                n = int(m.group(1))
                if n in recv[i]:
                    order_errors.append(f"client {i}: {n} twice")
                # Each sender's lines keep their order; A's and B's may
                # cross (both clients still see the same order).
                if n <= last[i][n % 2]:
                    order_errors.append(
                        f"client {i}: {n} after {last[i][n % 2]}")
                last[i][n % 2] = n
                recv[i][n] = t
                seen[i].append(n)
        if stopping is None and errors:
            break
    if seen[0] != seen[1]:
        order_errors.append("A and B saw the canary lines in different "
                            "orders")
    emit({"sent": len(sent), "errors": errors, "order_errors": order_errors,
          "records": [[n, sent[n], recv[0].get(n), recv[1].get(n)]
                      for n in sorted(sent)]})


def receivers(a):
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(a.n):
        s = dial(a.addr, a.rcvbuf)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    framers = [Framer(a.packet) for _ in socks]
    nxt = [dict.fromkeys(range(a.first, a.first + a.senders), 0)
           for _ in socks]
    left = a.n
    errors = []
    got = 0
    print("ready", flush=True)
    deadline = time.monotonic() + a.timeout
    t0 = None
    while left > 0 and time.monotonic() < deadline:
        for key, _ in sel.select(1.0):
            i = key.data
            try:
                data = socks[i].recv(1 << 18)
            except BlockingIOError:
                continue
            except OSError as e:
                data = b""
            if not data:
                errors.append(f"receiver {i}: closed by the server")
                sel.unregister(socks[i])
                left -= 1
                continue
            if t0 is None:
                t0 = time.monotonic()
            for _, msg in framers[i].feed(data):
                m = NUM_RX.search(msg)
                if m is None:
                    continue
                snd, n = int(m.group(1)), int(m.group(2))
                want = nxt[i].get(snd)
                if want is None:
                    continue
                if n != want and len(errors) < 20:
                    errors.append(f"receiver {i}: sender {snd} sent {n}, "
                                  f"expected {want}")
                nxt[i][snd] = n + 1
                got += 1
            if all(v >= a.count for v in nxt[i].values()):
                sel.unregister(socks[i])
                left -= 1
    t1 = time.monotonic()
    incomplete = sum(1 for d in nxt if any(v < a.count for v in d.values()))
    emit({"received": got, "errors": errors, "incomplete": incomplete,
          "seconds": (t1 - t0) if t0 else 0.0})
    for s in socks:
        s.close()


def senders(a):
    sel = selectors.DefaultSelector()
    socks = [dial(a.addr) for _ in range(a.s)]
    framers = [Framer(a.packet) for _ in socks]
    if a.packet:
        for i, s in enumerate(socks):
            s.setblocking(True)
            s.sendall(packet(0, b"snd%d_%d" % (os.getpid(), i)))
            s.setblocking(False)
    sent = [0] * a.s            # messages fully handed to the kernel
    out = [b""] * a.s           # bytes of the message in progress
    echoed = [0] * a.s          # bytes received back
    wrote = [0] * a.s           # bytes written
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
    print("ready", flush=True)
    line = sys.stdin.readline()     # "go"
    if not line:
        return
    errors = []
    pad = max(0, a.size - 24)
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    while time.monotonic() < deadline:
        if all(n >= a.count for n in sent) and not any(out):
            break
        for key, ev in sel.select(1.0):
            i = key.data
            s = socks[i]
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(1 << 18)
                except BlockingIOError:
                    data = None
                except OSError as e:
                    data = b""
                if data is not None:
                    if not data:
                        errors.append(f"sender {i}: closed by the server")
                        sel.unregister(s)
                        sent[i] = a.count
                        out[i] = b""
                        continue
                    echoed[i] += len(data)
            if not ev & selectors.EVENT_WRITE:
                continue
            if a.window and wrote[i] - echoed[i] > a.window:
                continue
            if not out[i]:
                if sent[i] >= a.count:
                    continue
                body = b"@%d:%d:" % (a.first + i, sent[i]) + b"x" * pad
                out[i] = (packet(1, body) if a.packet else body + b"\n")
            try:
                n = s.send(out[i])
            except BlockingIOError:
                continue
            except OSError as e:
                errors.append(f"sender {i}: {e}")
                sel.unregister(s)
                sent[i] = a.count
                out[i] = b""
                continue
            wrote[i] += n
            out[i] = out[i][n:]
            if not out[i]:
                sent[i] += 1
    t1 = time.monotonic()
    # Half-close and read until the server closes: a close() with unread
    # echoes in the receive buffer would send an RST, and the server would
    # lose what it had not read yet.
    for s in socks:
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    open_socks = set(range(len(socks)))
    for s in socks:
        try:
            sel.modify(s, selectors.EVENT_READ, socks.index(s))
        except (KeyError, ValueError):
            open_socks.discard(socks.index(s))
    while open_socks and time.monotonic() < deadline:
        for key, _ in sel.select(1.0):
            try:
                data = socks[key.data].recv(1 << 18)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(socks[key.data])
                open_socks.discard(key.data)
    if open_socks:
        errors.append(f"{len(open_socks)} senders not closed by the server")
    emit({"sent": sum(sent), "errors": errors, "seconds": t1 - t0})
    for s in socks:
        s.close()


def main():
    faulthandler.register(10)       # SIGUSR1: where is it stuck?
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("canary")
    c.add_argument("addr")
    c.add_argument("--packet", action="store_true")
    c.add_argument("--interval", type=float, default=0.05)
    c.add_argument("--timeout", type=float, default=30)
    r = sub.add_parser("receivers")
    r.add_argument("addr")
    r.add_argument("n", type=int)
    r.add_argument("--senders", type=int, required=True)
    r.add_argument("--first", type=int, default=0)
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--rcvbuf", type=int, default=0)
    r.add_argument("--packet", action="store_true")
    r.add_argument("--timeout", type=float, default=120)
    s = sub.add_parser("senders")
    s.add_argument("addr")
    s.add_argument("s", type=int)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--first", type=int, default=0)
    s.add_argument("--size", type=int, default=32)
    s.add_argument("--window", type=int, default=0)
    s.add_argument("--packet", action="store_true")
    s.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    {"canary": canary, "receivers": receivers, "senders": senders}[a.cmd](a)


if __name__ == "__main__":
    main()
