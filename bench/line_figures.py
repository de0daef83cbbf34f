#!/usr/bin/env python3
"""Figures for the line profile: idle CPU over 10 s, RSS with 1,000 idle
clients, and send-to-receipt time in a 2-client chat (median of 1,000).

    python3 bench/line_figures.py [--build build] [--backend epoll]
"""
import argparse
import os
import socket
import statistics
import subprocess
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])      # utime + stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--backend", default="epoll")
    ap.add_argument("--idle-seconds", type=float, default=10)
    a = ap.parse_args()
    srv = subprocess.Popen([os.path.join(a.build, "chatd"), "--listen",
                            "127.0.0.1:0", "--log", "quiet", "--backend",
                            a.backend], stderr=subprocess.PIPE, text=True)
    line = srv.stderr.readline()
    port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
    try:
        t0 = cpu_ticks(srv.pid)
        time.sleep(a.idle_seconds)
        ticks = cpu_ticks(srv.pid) - t0
        hz = os.sysconf("SC_CLK_TCK")
        print(f"idle CPU over {a.idle_seconds:.0f} s: {ticks / hz:.3f} s "
              f"({ticks} ticks)")
        base = rss_kib(srv.pid)
        idle = [socket.create_connection(("127.0.0.1", port))
                for _ in range(1000)]
        time.sleep(0.5)
        full = rss_kib(srv.pid)
        print(f"RSS: {base} KiB empty, {full} KiB with 1,000 idle clients "
              f"({(full - base) * 1024 / 1000:.0f} bytes per client)")
        for s in idle:
            s.close()           # a 2-client chat: nobody else in the room
        time.sleep(0.5)
        x = socket.create_connection(("127.0.0.1", port))
        y = socket.create_connection(("127.0.0.1", port))
        x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        time.sleep(0.2)
        x.recv(4096)
        y.recv(4096)
        lat = []
        for i in range(1000):
            t = time.perf_counter_ns()
            x.sendall(b"ping %d\n" % i)
            d = b""
            while not d.endswith(b"\n"):
                d += y.recv(4096)
            lat.append((time.perf_counter_ns() - t) / 1000)
            d = b""
            while not d.endswith(b"\n"):
                d += x.recv(4096)           # the sender's own copy
        lat.sort()
        print(f"send to receipt, 2 clients, 1,000 messages: median "
              f"{statistics.median(lat):.1f} us, p99 {lat[989]:.1f} us "
              f"(Python client on loopback)")
        x.close()
        y.close()
    finally:
        srv.terminate()
        srv.wait(5)


if __name__ == "__main__":
    main()
