#!/usr/bin/env python3
"""echod_bench.py -- the same echo load against each echod model, one run.

For each model it starts build/echod on 127.0.0.1:0 and measures:

  conn/s   CYCLES short connections (connect, send 64 bytes, read the echo,
           close) spread over CLIENTS client processes; cycles / wall time.
           Processes, not threads, so the client's GIL is not the limit.
  CPU      the server's user + system time over that part, forked children
           included (wait4), per connection: what a connection costs the
           server even when the client is the bottleneck.
  RTT      one connection (TCP_NODELAY), ROUNDS round trips of 64 bytes, one
           at a time: median and p99 of each round trip.

The models take turns, REPEAT rounds of all four, and the table gives the
median over the rounds: on a shared machine load drifts, and interleaving
spreads it over every model alike.  Server logging goes to /dev/null (it
is still done: it is part of serving a connection).

  python3 bench/echod_bench.py [--build build] [--cycles 2000]
                               [--clients 4] [--rounds 2000] [--repeat 3]
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


def stop_server(p, model):
    """SIGTERM p; return its CPU seconds, children it reaped included."""
    p.send_signal(signal.SIGTERM)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"echod --model {model} exited {p.returncode}")
    return ru.ru_utime + ru.ru_stime


def measure(a, model):
    """One round, a fresh server per part: (conn/s, server CPU us per
    connection, RTT median, RTT p99)."""
    p, port = start_server(a.build, model)
    try:
        time.sleep(0.3)             # prefork: let the workers settle
        cps = conns_per_second(port, a.cycles, a.clients)
    finally:
        cpu = stop_server(p, model)
    p, port = start_server(a.build, model)
    try:
        time.sleep(0.3)
        round_trips(port, 100)      # warm the server up
        med, p99 = round_trips(port, a.rounds)
    finally:
        stop_server(p, model)
    return cps, cpu * 1e6 / a.cycles, med, p99


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build"))
    ap.add_argument("--cycles", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    a = ap.parse_args()
    models = a.models.split(",")

    runs = {m: [] for m in models}
    for r in range(a.repeat):
        for model in models:
            cps, cpu, med, p99 = measure(a, model)
            runs[model].append((cps, cpu, med, p99))
            print(f"round {r + 1} {model}: {cps:.0f} conn/s, {cpu:.0f} us "
                  f"CPU/conn, RTT median {med:.1f} us, p99 {p99:.1f} us",
                  file=sys.stderr)

    print(f"{os.cpu_count()} CPUs, Linux {platform.release()}, loopback; "
          f"{a.cycles} cycles from {a.clients} client processes, "
          f"{a.rounds} round trips of 64 bytes; median of {a.repeat} "
          f"interleaved rounds\n")
    print("| model | connections/s | server CPU per connection (µs) "
          "| echo RTT median (µs) | RTT p99 (µs) |")
    print("|---|---:|---:|---:|---:|")
    for model in models:
        cps, cpu, med, p99 = (statistics.median(x)
                              for x in zip(*runs[model]))
        print(f"| {model} | {cps:,.0f} | {cpu:.0f} | {med:.1f} | "
              f"{p99:.1f} |")


if __name__ == "__main__":
    main()
