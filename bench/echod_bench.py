#!/usr/bin/env python3
"""echod_bench.py -- the same echo load against each echod model, one run.

For each model it starts build/echod on 127.0.0.1:0 and measures:

  conn/s   CYCLES short connections (connect, send 64 bytes, read the echo,
           close) spread over CLIENTS client processes; cycles / wall time.
           Processes, not threads, so the client's GIL is not the limit.
  RTT      one connection (TCP_NODELAY), ROUNDS round trips of 64 bytes, one
           at a time: median and p99 of each round trip.

Then it prints a Markdown table.  Server logging goes to /dev/null (it is
still done: it is part of serving a connection).

  python3 bench/echod_bench.py [--build build] [--cycles 2000]
                               [--clients 4] [--rounds 2000]
"""
import argparse
import multiprocessing
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

MODELS = ["fork", "thread", "prefork", "event"]
PAYLOAD = b"x" * 64


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            raise ConnectionError("server closed early")
        got += chunk
    return got


def cycle_worker(port, n, start, out):
    """n connect-echo-close cycles once start is set; put the count done."""
    start.wait()
    done = 0
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(PAYLOAD)
        if recv_exact(s, len(PAYLOAD)) == PAYLOAD:
            done += 1
        s.close()
    out.put(done)


def conns_per_second(port, cycles, clients):
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    share = [cycles // clients + (i < cycles % clients) for i in range(clients)]
    procs = [ctx.Process(target=cycle_worker, args=(port, n, start, out))
             for n in share]
    for p in procs:
        p.start()
    time.sleep(0.2)                 # every client ready before the clock
    t0 = time.perf_counter()
    start.set()
    done = sum(out.get() for _ in procs)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    if done != cycles:
        raise RuntimeError(f"{cycles - done} cycles got a wrong echo")
    return cycles / elapsed


def round_trips(port, rounds):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(50):             # warm up
        s.sendall(PAYLOAD)
        recv_exact(s, len(PAYLOAD))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        s.sendall(PAYLOAD)
        recv_exact(s, len(PAYLOAD))
        times.append(time.perf_counter_ns() - t0)
    s.close()
    times.sort()
    return (statistics.median(times) / 1000.0,
            times[int(len(times) * 0.99) - 1] / 1000.0)


def start_server(build, model):
    p = subprocess.Popen([os.path.join(build, "echod"), "--model", model,
                          "127.0.0.1:0"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    line = p.stderr.readline().decode()
    m = re.search(r"listening on \S+:(\d+)", line)
    if not m:
        p.kill()
        raise RuntimeError(f"echod --model {model} did not start: {line}")
    return p, int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build"))
    ap.add_argument("--cycles", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--models", default=",".join(MODELS))
    a = ap.parse_args()

    rows = []
    for model in a.models.split(","):
        p, port = start_server(a.build, model)
        try:
            time.sleep(0.3)         # prefork: let the workers settle
            round_trips(port, 100)  # warm the server up
            cps = conns_per_second(port, a.cycles, a.clients)
            med, p99 = round_trips(port, a.rounds)
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(10)
        if rc != 0:
            raise RuntimeError(f"echod --model {model} exited {rc}")
        rows.append((model, cps, med, p99))
        print(f"{model}: {cps:.0f} conn/s, RTT median {med:.1f} us, "
              f"p99 {p99:.1f} us", file=sys.stderr)

    print(f"{os.cpu_count()} CPUs, Linux {platform.release()}, loopback; "
          f"{a.cycles} cycles from {a.clients} client processes, "
          f"{a.rounds} round trips of 64 bytes\n")
    print("| model | connections/s | echo RTT median (µs) | RTT p99 (µs) |")
    print("|---|---:|---:|---:|")
    for model, cps, med, p99 in rows:
        print(f"| {model} | {cps:,.0f} | {med:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
