#!/usr/bin/env python3
"""Memory of an idle client, by profile: start chatd, connect N clients
that read what they are sent (the chat profile greets each and tells the
room of every join) and then sit idle; report the server's RSS growth per
client.

    /usr/bin/python3 bench/idle_rss.py [--clients N] [PROFILE ...]

Profiles default to line and chat.  Loopback only; bounded in time."""
import argparse
import os
import resource
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def drain(socks):
    for s in socks:
        try:
            while s.recv(65536):
                pass
        except BlockingIOError:
            pass


def measure(profile, n, port):
    p = subprocess.Popen([os.path.join(ROOT, "build", "chatd"), "--profile",
                          profile, "--listen", f"127.0.0.1:{port}", "--log",
                          "quiet"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        base = rss_kib(p.pid)
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            socks.append(s)
            if i % 500 == 499:
                drain(socks)
        for _ in range(5):
            time.sleep(0.2)
            drain(socks)
        grown = rss_kib(p.pid) - base
        for s in socks:
            s.close()
        return base, grown * 1024 / n
    finally:
        p.terminate()
        p.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--port", type=int, default=3777)
    ap.add_argument("profiles", nargs="*", default=["line", "chat"])
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for prof in a.profiles:
        base, per = measure(prof, a.clients, a.port)
        print(f"{prof}: {a.clients} idle clients, RSS {base} KiB before, "
              f"{per:.0f} B per client")


if __name__ == "__main__":
    main()
