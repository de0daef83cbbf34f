#!/usr/bin/env python3
"""bench/relay10k.py -- the relay profile with 10,000 clients.

Starts `chatd --profile relay` (epoll and poll by default), connects 10,000
idle clients, then reports:
  - the server's RSS (VmRSS) with no client, and with 10,000 idle clients;
  - the time for one message to reach all 10,000 clients, median (and min,
    max) of 20 sends: from just before send() on one client to the last of
    the 10,000 recv() that complete it, read by one epoll loop here (so the
    loop's own cost is included: an upper bound on the server's);
  - the server's own CPU time (user and system, from /proc) per message,
    averaged over those sends: what writing to 10,000 sockets costs it
    (almost all of it is the kernel's loopback TCP path).

    /usr/bin/python3 bench/relay10k.py [--clients N] [--rounds R]
                                       [--backend epoll --backend poll]
                                       [--build DIR]

Needs a descriptor hard limit above N + 100 (this process raises its soft
limit; chatd raises its own)."""
import argparse
import os
import re
import resource
import select
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_s(pid):
    """The process's (user, system) CPU seconds so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Relay:
    def __init__(self, build, backend):
        self.p = subprocess.Popen(
            [os.path.join(build, "chatd"), "--profile", "relay", "--backend",
             backend, "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        line = self.p.stderr.readline().decode()
        m = re.search(r"listening on \S+:(\d+) ", line)
        if not m:
            sys.exit(f"chatd did not start: {line}")
        self.port = int(m.group(1))
        self.joined = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._count, daemon=True).start()
        threading.Thread(target=self.p.stderr.read, daemon=True).start()

    def _count(self):
        for line in self.p.stdout:
            if line.startswith(b"New connection from "):
                with self.cond:
                    self.joined += 1
                    self.cond.notify_all()

    def wait_joined(self, n, timeout=60):
        with self.cond:
            if not self.cond.wait_for(lambda: self.joined >= n, timeout):
                sys.exit(f"only {self.joined} of {n} clients joined")

    def stop(self):
        self.p.terminate()
        return self.p.wait(30)


def connect_all(srv, n, batch=500):
    socks = []
    while len(socks) < n:
        for _ in range(min(batch, n - len(socks))):
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.setblocking(False)
            socks.append(s)
        srv.wait_joined(len(socks))
    return socks


def one_message(ep, by_fd, sender, msg):
    """Seconds from send to the last client having all of msg."""
    got = dict.fromkeys(by_fd, 0)
    left = len(by_fd)
    t0 = time.perf_counter()
    sender.send(msg)
    while left:
        for fd, _ in ep.poll(10):
            n = len(by_fd[fd].recv(65536))
            if n == 0:
                sys.exit("a client was closed")
            got[fd] += n
            if got[fd] == len(msg):
                left -= 1
    return time.perf_counter() - t0


def run(build, backend, n, rounds):
    srv = Relay(build, backend)
    time.sleep(0.2)
    rss0 = rss_kib(srv.p.pid)
    t0 = time.monotonic()
    socks = connect_all(srv, n)
    join_s = time.monotonic() - t0
    time.sleep(0.5)
    rss = rss_kib(srv.p.pid)
    ep = select.epoll()
    by_fd = {}
    for s in socks:
        ep.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = s
    times = []
    cpu0 = cpu_s(srv.p.pid)
    for i in range(rounds):
        msg = b"message %03d to every client\n" % i
        times.append(one_message(ep, by_fd, socks[i % n], msg))
        time.sleep(0.05)
    cpu1 = cpu_s(srv.p.pid)
    usr, sys_ = ((b - a) / rounds for a, b in zip(cpu0, cpu1))
    ep.close()
    for s in socks:
        s.close()
    rc = srv.stop()
    return {
        "backend": backend, "clients": n, "join_s": join_s,
        "rss0_kib": rss0, "rss_kib": rss,
        "per_client_b": (rss - rss0) * 1024 / n,
        "median_ms": statistics.median(times) * 1e3,
        "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3,
        "usr_ms": usr * 1e3, "sys_ms": sys_ * 1e3,
        "exit": rc,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--backend", action="append")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.clients + 100
    if hard != resource.RLIM_INFINITY and hard < want:
        sys.exit(f"descriptor hard limit {hard} < {want}")
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    print(f"# {a.clients} relay clients, one message to all, "
          f"{a.rounds} rounds; {os.cpu_count()} CPUs")
    print("| backend | RSS idle server | RSS with clients | per client "
          "| to reach all: median | min | max | server CPU per message: user + system |")
    print("|---|---|---|---|---|---|---|---|")
    for b in a.backend or ["epoll", "poll"]:
        r = run(a.build, b, a.clients, a.rounds)
        print(f"| {b} | {r['rss0_kib'] / 1024:.1f} MiB "
              f"| {r['rss_kib'] / 1024:.1f} MiB "
              f"| {r['per_client_b']:.0f} B "
              f"| {r['median_ms']:.1f} ms | {r['min_ms']:.1f} ms "
              f"| {r['max_ms']:.1f} ms "
              f"| {r['usr_ms']:.1f} + {r['sys_ms']:.1f} ms |", flush=True)
        if r["exit"] != 0:
            sys.exit(f"chatd exited {r['exit']}")


if __name__ == "__main__":
    main()
